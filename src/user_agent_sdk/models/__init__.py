"""Conductor's wire data: tasks, results, workflows, and the one JSON converter for them.

Shared by the worker's client (:mod:`user_agent_sdk.conductor`) and the embedded server
(:mod:`user_agent_sdk.server`); importing it loads neither a client nor an HTTP library.
"""

# Each private module lists what it exports in its own __all__, as httpx's do.
from . import _converter, _models
from ._converter import *  # noqa: F403
from ._models import *  # noqa: F403
from ._paths import OAUTH_TOKEN_PATH

__all__ = ["OAUTH_TOKEN_PATH"]
__all__ += _models.__all__
__all__ += _converter.__all__
