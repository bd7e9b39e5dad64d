"""Which wire the running turn speaks, for code that has no context at hand (the history
helpers): set by the turn around its handler, inherited by its tasks and threads."""

from __future__ import annotations

import contextvars

_WIRE: contextvars.ContextVar[str] = contextvars.ContextVar("agentproc_wire", default="0.1")


def wire_in_use() -> str:
    """``"0.4"`` inside the handler of a wire-0.4 turn, else ``"0.1"``."""
    return _WIRE.get()


def use_wire(wire: str) -> contextvars.Token[str]:
    """Mark the current context (and what it starts from now on) as answering ``wire``."""
    return _WIRE.set(wire)


def reset_wire(token: contextvars.Token[str]) -> None:
    """Undo :func:`use_wire` once the handler has returned."""
    _WIRE.reset(token)
