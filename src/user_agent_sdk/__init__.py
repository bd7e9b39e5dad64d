"""user_agent_sdk: Conductor user agents for akaBot 2.0 and any Conductor server, on trio."""

from importlib.metadata import PackageNotFoundError, version

from ._registry import (
    AgentSpec,
    RegistrationError,
    Registry,
    TaskContext,
    register_user_agent,
    user_agent,
)
from .config import ConfigError, Settings, load_settings
from .runtime import (
    AgentFailed,
    ExecutionObserver,
    ExecutionRecord,
    NonRetryableException,
    Runtime,
    running,
    serve,
)

try:
    __version__ = version("user-agent-sdk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AgentFailed",
    "AgentSpec",
    "ConfigError",
    "ExecutionObserver",
    "ExecutionRecord",
    "NonRetryableException",
    "RegistrationError",
    "Registry",
    "Runtime",
    "Settings",
    "TaskContext",
    "__version__",
    "load_settings",
    "register_user_agent",
    "running",
    "serve",
    "user_agent",
]
