"""agentproc: the agent-process protocol (wire 0.1 and 0.4) on trio.

An agent is a script that answers one user message per process: the bridge passes the turn
in ``AGENT_*`` environment variables (wire 0.1) or as one JSON line on stdin (wire 0.4)
and reads the answer from stdout, in the same wire. This package is the agent side::

    from agentproc import create_profile

    async def handler(ctx):
        return f"you said: {ctx.message}"

    create_profile(handler)

Public names: :func:`create_profile`, :class:`AgentContext`, :class:`AgentResult`,
:class:`ProtocolError` (and :class:`AgentprocError`, the base of every error of agentproc
and agentproc.bridge), :class:`Attachment`, :class:`PermissionDecision`, :func:`load_history`,
:func:`append_history`, :class:`HistoryEntry` and :func:`session_file_path`; the
in-process test helper is :func:`agentproc.testing.run_handler`.
"""

from typing import TYPE_CHECKING, Any

from agentproc._context import PROTOCOL_VERSION, AgentContext, Attachment
from agentproc._errors import AgentprocError
from agentproc._permission import PermissionDecision
from agentproc._profile import create_profile
from agentproc._result import AgentResult, ProtocolError

if TYPE_CHECKING:
    from agentproc._history import HistoryEntry, append_history, load_history, session_file_path

# The history helpers load on first use: most agents never touch them, and every agent
# process pays for its imports on every turn (cold start is part of each reply's latency).
_HISTORY_NAMES = frozenset({"HistoryEntry", "append_history", "load_history", "session_file_path"})


def __getattr__(name: str) -> Any:
    if name in _HISTORY_NAMES:
        from agentproc import _history

        value = getattr(_history, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'agentproc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HISTORY_NAMES})


__all__ = [
    "PROTOCOL_VERSION",
    "AgentContext",
    "AgentResult",
    "AgentprocError",
    "Attachment",
    "HistoryEntry",
    "PermissionDecision",
    "ProtocolError",
    "append_history",
    "create_profile",
    "load_history",
    "session_file_path",
]
