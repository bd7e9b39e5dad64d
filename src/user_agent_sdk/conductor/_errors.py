"""What a request to the task server can fail with: one class per thing a caller can do."""

from __future__ import annotations

from .._errors import UserAgentError


class ConductorError(UserAgentError):
    """A request to the task server did not succeed; the message says which and why."""


class ServerUnavailable(ConductorError):
    """The server could not be reached, timed out, or answered 5xx/429: try again later."""


class AuthenticationError(ConductorError):
    """The server refused the credentials or the token (401/403 after a fresh token)."""


class RequestRejected(ConductorError):
    """The server refused the request itself (a 4xx other than 401/403/408/429)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
