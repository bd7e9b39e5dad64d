"""The one base of the errors this package defines."""

from __future__ import annotations


class UserAgentError(Exception):
    """The base of every error ``user_agent_sdk`` and its subpackages raise of their own:
    ``except UserAgentError`` catches any of them, and nothing else.

    Each error keeps the built-in base it has always had besides this one
    (:class:`~user_agent_sdk.RegistrationError` is still a :class:`TypeError`), so code
    that catches the built-in base keeps working.
    """


__all__ = ["UserAgentError"]
