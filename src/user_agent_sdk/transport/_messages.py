"""What the server side reads and answers: :class:`Request`, :class:`Response`, and
:class:`HTTPError` for a request refused with a status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from .._errors import UserAgentError
from .._json import COMPACT


@attrs.frozen
class Request:
    """One HTTP request, fully read."""

    method: str
    path: str
    """The raw (still percent-encoded) path, without the query string."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case; a repeated header's values joined with ``", "``."""
    body: bytes
    client: str

    def query_value(self, name: str) -> str | None:
        """The last value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[-1] if values else None


@attrs.frozen
class Response:
    """What a handler answers."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    on_undelivered: Callable[[], None] | None = attrs.field(default=None, eq=False, repr=False)
    """Called if the response could not be sent (e.g. to give polled tasks back)."""

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        """A JSON body (compact, UTF-8)."""
        return cls(status, COMPACT.encode(data).encode(), "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        """A ``text/plain`` body."""
        return cls(status, text.encode(), "text/plain; charset=utf-8")

    @classmethod
    def no_content(cls) -> Response:
        """204: nothing to answer (an empty poll, an unknown task)."""
        return cls(204)


class HTTPError(UserAgentError):
    """A request the server refuses; ``message`` is shown to the client and logged."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        """``code`` goes into the body's ``error`` field (default: the status's reason)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or reason_phrase(status)

    def to_response(self) -> Response:
        return Response.json(
            {"status": self.status, "message": self.message, "error": self.code},
            status=self.status,
        )


Handler = Callable[[Request], Awaitable[Response]]


def reason_phrase(status: int) -> str:
    """The reason phrase of ``status`` (``"Error"`` for one this server never sends)."""
    return {
        200: "OK",
        204: "No Content",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        408: "Request Timeout",
        409: "Conflict",
        413: "Payload Too Large",
        431: "Request Header Fields Too Large",
        500: "Internal Server Error",
        501: "Not Implemented",
    }.get(status, "Error")
