"""user_agent_sdk: Conductor user agents for akaBot 2.0 and any Conductor server, on trio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("user-agent-sdk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
