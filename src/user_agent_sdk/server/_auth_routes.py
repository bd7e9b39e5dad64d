"""Routes that need no token: health, and the two ways of getting one (Orkes' and OAuth's)."""

from __future__ import annotations

from urllib.parse import parse_qs

from ..models import OAUTH_TOKEN_PATH
from ._auth import TokenIssuer
from ._http import HTTPError, Request, Response
from ._requests import json_object
from ._routing import Route


class AuthRoutes:
    """Hands out tokens for client credentials."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/health", self._health, public=True),
            Route("POST", "/api/token", self._orkes_token, public=True),
            Route("POST", OAUTH_TOKEN_PATH, self._oauth_token, public=True),
        ]

    async def _health(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json({"healthy": True})

    async def _orkes_token(self, request: Request, params: dict[str, str]) -> Response:
        body = json_object(request)
        key_id, key_secret = body.get("keyId"), body.get("keySecret")
        if not isinstance(key_id, str) or not isinstance(key_secret, str):
            raise HTTPError(400, 'the body must be {"keyId": ..., "keySecret": ...}')
        issued = self._issuer.issue(key_id, key_secret)
        if issued is None:
            raise HTTPError(401, "invalid keyId or keySecret")
        return Response.json({"token": issued.token})

    async def _oauth_token(self, request: Request, params: dict[str, str]) -> Response:
        form = {
            key: values[-1]
            for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()
        }
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if client_id is None or client_secret is None:
            return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
        issued = self._issuer.issue(client_id, client_secret)
        if issued is None:
            return _oauth_error(401, "invalid_client", "invalid client credentials")
        return Response.json(
            {
                "access_token": issued.token,
                "expires_in": issued.expires_in,
                "token_type": "Bearer",
                "scope": "",
            }
        )


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status=status)
