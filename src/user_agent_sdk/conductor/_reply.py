"""An HTTP answer from the task server, and the error class each status maps to."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ._errors import AuthenticationError, ConductorError, RequestRejected, ServerUnavailable


@attrs.frozen
class Reply:
    """An HTTP answer, fully read."""

    method: str
    url: str
    status: int
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; :class:`ConductorError` when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise ConductorError(
                f"{self.method} {self.url}: the answer is not JSON: {self.body[:200]!r}"
            ) from None

    def raise_for_status(self) -> None:
        """The error class a caller can act on, for any status but 2xx."""
        if self.is_success:
            return
        message = f"{self.method} {self.url}: HTTP {self.status}"
        detail = self.error_detail()
        if detail:
            message += f": {detail}"
        if self.status in (401, 403):
            raise AuthenticationError(message)
        if self.status >= 500 or self.status in (408, 429):
            raise ServerUnavailable(message)
        raise RequestRejected(message, self.status)

    def error_detail(self) -> str:
        try:
            body = json.loads(self.body)
        except ValueError:
            return self.body[:200].decode(errors="replace")
        if isinstance(body, dict):
            return str(
                body.get("message") or body.get("error_description") or body.get("error", "")
            )
        return ""
