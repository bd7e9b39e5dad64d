"""Tokens: how each kind of server issues them, and keeping the current one fresh.

- **akaBot**: OAuth2 client credentials at the token URL, sent as ``Authorization: Bearer``.
- **Orkes/Conductor**: a key and secret exchanged at ``<api>/token`` for a token sent as
  ``X-Authorization``; a server that answers 404 there needs no token.

Tokens are fetched lazily, renewed once 80% of their lifetime has passed, and renewed at
once when the server answers 401 (see :class:`~._client.ConductorClient`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

import attrs
import trio

from ..transport import Sender
from ._errors import AuthenticationError, ConductorError
from ._reply import Reply
from ._requests import request

_ORKES_TOKEN_TTL_S = 45 * 60.0
"""Orkes tokens carry no lifetime; conductor-python renews them after 45 minutes too."""
TOKEN_TIMEOUT_S = 30.0
"""The longest a token request may take."""


@attrs.frozen
class IssuedToken:
    """A token :meth:`Credentials.fetch_token` got from the server, and how long it lasts."""

    value: str = attrs.field(repr=False)
    lifetime_s: float
    """Seconds it stays valid from when it was issued."""


class Credentials(Protocol):
    """How a token is obtained and which header carries it."""

    header: str

    def header_value(self, token: str) -> str: ...

    async def fetch_token(self, sender: Sender, api_url: str) -> IssuedToken | None:
        """A new token, asked for through ``sender``; None when the server needs none.
        Raises :class:`ConductorError`.

        ``api_url`` is the server's API URL, without a trailing slash.
        """
        ...


@attrs.frozen
class OAuth2ClientCredentials:
    """akaBot's OAuth2 client-credentials grant against ``token_url``."""

    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    header = "Authorization"

    def header_value(self, token: str) -> str:
        return f"Bearer {token}"

    async def fetch_token(self, sender: Sender, api_url: str) -> IssuedToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        headers = [("Content-Type", "application/x-www-form-urlencoded"), _ACCEPT_JSON]
        reply = await request(
            sender, "POST", self.token_url, headers, urlencode(form).encode(), TOKEN_TIMEOUT_S
        )
        body = _accepted(
            reply,
            f"the token endpoint {self.token_url} refused clientId {self.client_id!r} "
            f"and its clientSecret",
        )
        token = body.get("access_token")
        lifetime = body.get("expires_in", 300)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ConductorError(f"the token endpoint {self.token_url} answered no access_token")
        return IssuedToken(token, float(lifetime))


@attrs.frozen
class OrkesKey:
    """Orkes' key and secret, exchanged at ``<api>/token`` for an ``X-Authorization`` token."""

    key_id: str
    key_secret: str = attrs.field(repr=False)
    header = "X-Authorization"

    def header_value(self, token: str) -> str:
        return token

    async def fetch_token(self, sender: Sender, api_url: str) -> IssuedToken | None:
        body = json.dumps({"keyId": self.key_id, "keySecret": self.key_secret}).encode()
        headers = [("Content-Type", "application/json"), _ACCEPT_JSON]
        reply = await request(sender, "POST", f"{api_url}/token", headers, body, TOKEN_TIMEOUT_S)
        if reply.status == 404:
            return None  # a server without auth: conductor-python reads it the same way
        answer = _accepted(
            reply, f"{reply.url} refused CONDUCTOR_AUTH_KEY {self.key_id!r} and its secret"
        )
        token = answer.get("token")
        if not isinstance(token, str):
            raise ConductorError(f"{reply.url} answered no token")
        return IssuedToken(token, _ORKES_TOKEN_TTL_S)


_ACCEPT_JSON = ("Accept", "application/json")


def _accepted(reply: Reply, refused: str) -> dict[str, Any]:
    """The JSON object a token endpoint answered (empty if it is not an object).

    Raises :class:`AuthenticationError` (``refused``, then the status and the server's
    reason) for a 400, 401 or 403, and what :meth:`Reply.raise_for_status` raises for
    another error.
    """
    if reply.status in (400, 401, 403):
        detail = reply.error_detail()
        raise AuthenticationError(
            f"{refused} (HTTP {reply.status}{': ' + detail if detail else ''})"
        )
    reply.raise_for_status()
    body = reply.json()
    return body if isinstance(body, dict) else {}


class Tokens:
    """The current token: fetched lazily, renewed before expiry and on demand after a 401."""

    def __init__(
        self,
        credentials: Credentials,
        sender: Sender,
        api_url: str,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        """``sender`` carries the token requests; ``api_url`` is the server's API URL."""
        self._credentials = credentials
        self._sender = sender
        self._api_url = api_url
        self._clock = clock
        self._lock = trio.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        self.fetched = 0
        """Tokens fetched so far (the first one and every renewal)."""
        self.fetch_errors = 0
        """Token requests that failed."""
        self.needed = True
        """False once the server said it needs no token (Orkes ``/token`` answered 404)."""

    async def header(self) -> tuple[str, str] | None:
        """The auth header for the next request; fetches a token first when due."""
        if self.needed and self._clock() >= self._renew_at:
            await self.renew(stale=self._token)
        if self._token is None:
            return None
        return self._credentials.header, self._credentials.header_value(self._token)

    async def renew(self, stale: str | None) -> None:
        """Fetch a new token unless another request already replaced ``stale``."""
        async with self._lock:
            if self._token != stale and self._clock() < self._renew_at:
                return
            try:
                issued = await self._credentials.fetch_token(self._sender, self._api_url)
            except Exception:
                self.fetch_errors += 1
                raise
            if issued is None:
                self._token, self.needed = None, False
                return
            if not _fits_a_header(issued.value):
                # It would break (or smuggle into) every request's head; never shown.
                raise ConductorError(
                    f"the server issued a token that cannot be sent in an HTTP header "
                    f"({len(issued.value)} characters, some not printable ASCII)"
                )
            # Renew once 80% of the lifetime has passed (at most a minute early).
            margin = min(60.0, issued.lifetime_s * 0.2)
            self._token = issued.value
            self.fetched += 1
            self._renew_at = self._clock() + issued.lifetime_s - margin

    @property
    def current(self) -> str | None:
        return self._token


def _fits_a_header(token: str) -> bool:
    return bool(token) and token.isascii() and token.isprintable()
