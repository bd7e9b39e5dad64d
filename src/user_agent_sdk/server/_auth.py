"""Access tokens: issued for the server's one client id and secret, and checked.

Both token styles the ecosystem uses are served from the same issuer: Orkes'
``POST /api/token`` (``keyId``/``keySecret`` -> ``token``, sent back as
``X-Authorization``) and akaBot's OAuth2 client-credentials endpoint (sent back as
``Authorization: Bearer``). Tokens live in memory: after a restart clients get a 401
and fetch a new one, which every client must handle anyway.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping

import attrs


@attrs.frozen
class ClientCredentials:
    """The id and secret a client exchanges for a token."""

    client_id: str
    client_secret: str = attrs.field(repr=False)

    @classmethod
    def generate(cls) -> ClientCredentials:
        """A fresh random pair, for a server started without ``--client-id``."""
        return cls(f"local-{secrets.token_hex(4)}", secrets.token_urlsafe(24))

    def matches(self, client_id: str, client_secret: str) -> bool:
        """Constant-time comparison of both parts."""
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok


@attrs.frozen
class IssuedToken:
    token: str = attrs.field(repr=False)
    expires_in: int
    """Seconds from issue."""


class TokenIssuer:
    """Issues tokens for one set of credentials and tells whether a token is still good."""

    def __init__(
        self,
        credentials: ClientCredentials,
        ttl_seconds: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        accept_any: bool = False,
    ) -> None:
        """``accept_any``: issue a token for any id and secret (a server without auth)."""
        self.credentials = credentials
        self._accept_any = accept_any
        self._ttl = ttl_seconds
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self, client_id: str, client_secret: str) -> IssuedToken | None:
        """A new token, or None when the credentials are wrong."""
        if not (self._accept_any or self.credentials.matches(client_id, client_secret)):
            return None
        now = self._clock()
        self._expiry = {token: at for token, at in self._expiry.items() if at > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self._ttl
        return IssuedToken(token, self._ttl)

    def is_valid(self, token: str) -> bool:
        expires = self._expiry.get(token)
        return expires is not None and expires > self._clock()

    def token_from(self, headers: Mapping[str, str]) -> str | None:
        """The token a request carries, in either header style, or None."""
        orkes = headers.get("x-authorization")
        if orkes:
            return orkes.strip()
        bearer = headers.get("authorization", "")
        scheme, _, value = bearer.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
