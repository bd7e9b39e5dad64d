"""user_agent_sdk: Conductor user agents for akaBot 2.0 and any Conductor server, on trio.

The names below are imported on first use: ``import user_agent_sdk`` alone (as the
``useragent`` command does to print its help) loads neither trio nor httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import UserAgentError
    from ._registry import (
        AgentSpec,
        Injection,
        RegistrationError,
        Registry,
        SpecOptions,
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
        open_runtime,
        running,
        serve,
    )

    __version__: str

_HOMES = {
    "._errors": ("UserAgentError",),
    "._registry": (
        "AgentSpec",
        "Injection",
        "RegistrationError",
        "Registry",
        "SpecOptions",
        "TaskContext",
        "register_user_agent",
        "user_agent",
    ),
    ".config": ("ConfigError", "Settings", "load_settings"),
    ".runtime": (
        "AgentFailed",
        "ExecutionObserver",
        "ExecutionRecord",
        "NonRetryableException",
        "Runtime",
        "open_runtime",
        "running",
        "serve",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AgentFailed",
    "AgentSpec",
    "ConfigError",
    "ExecutionObserver",
    "ExecutionRecord",
    "Injection",
    "NonRetryableException",
    "RegistrationError",
    "Registry",
    "Runtime",
    "Settings",
    "SpecOptions",
    "TaskContext",
    "UserAgentError",
    "__version__",
    "load_settings",
    "open_runtime",
    "register_user_agent",
    "running",
    "serve",
    "user_agent",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _installed_version()
    elif name in _HOME_OF:
        value = getattr(import_module(_HOME_OF[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("user-agent-sdk")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"
