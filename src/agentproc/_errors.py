"""The one base of the errors this package defines."""

from __future__ import annotations


class AgentprocError(Exception):
    """The base of every error ``agentproc`` and ``agentproc.bridge`` define:
    ``except AgentprocError`` catches any of them, and nothing else.

    Each error keeps the built-in base it has always had besides this one
    (:class:`~agentproc.bridge.ProfileError` is still a :class:`ValueError`).
    """


__all__ = ["AgentprocError"]
