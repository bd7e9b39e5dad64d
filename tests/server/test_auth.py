"""Tokens: Orkes' /api/token and the OAuth2 client-credentials endpoint."""

from __future__ import annotations

import httpx
import pytest
import trio

from user_agent_sdk.server import MEMORY, ClientCredentials, RunningServer, ServerConfig

OAUTH = "/realms/user-agent/protocol/openid-connect/token"
CREDENTIALS = ClientCredentials("agent-client", "s3cret-value")


@pytest.fixture
def server_config() -> ServerConfig:
    return ServerConfig(
        port=0, db=MEMORY, auth_required=True, credentials=CREDENTIALS, token_ttl_seconds=1
    )


async def _oauth_token(server: RunningServer, secret: str = "s3cret-value") -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        return await client.post(
            OAUTH,
            data={
                "grant_type": "client_credentials",
                "client_id": "agent-client",
                "client_secret": secret,
            },
        )


async def test_without_a_token_the_api_answers_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/tasks/poll/x")
    assert response.status_code == 401
    assert response.json()["error"] == "INVALID_TOKEN"


async def test_orkes_token_in_x_authorization(api: httpx.AsyncClient) -> None:
    response = await api.post("/token", json={"keyId": "agent-client", "keySecret": "s3cret-value"})
    assert response.status_code == 200
    token = response.json()["token"]
    polled = await api.get("/tasks/poll/x", headers={"X-Authorization": token})
    assert polled.status_code == 204


async def test_oauth2_client_credentials_with_bearer(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    response = await _oauth_token(server)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1
    polled = await api.get(
        "/tasks/external/poll/x", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert polled.status_code == 204


async def test_wrong_credentials_get_no_token(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    assert (await _oauth_token(server, secret="guess")).status_code == 401
    wrong = await api.post("/token", json={"keyId": "agent-client", "keySecret": "guess"})
    assert wrong.status_code == 401
    assert "s3cret" not in wrong.text


async def test_an_expired_token_gets_401(server: RunningServer, api: httpx.AsyncClient) -> None:
    token = (await _oauth_token(server)).json()["access_token"]
    await trio.sleep(1.2)
    response = await api.get("/tasks/poll/x", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == "EXPIRED_TOKEN"


async def test_health_needs_no_token(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.get("/health")).json() == {"healthy": True}


class TestWithoutAuth:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, credentials=CREDENTIALS)

    async def test_any_credentials_get_a_token_and_none_is_needed(
        self, server: RunningServer, api: httpx.AsyncClient
    ) -> None:
        assert (await _oauth_token(server, secret="anything")).status_code == 200
        assert (await api.get("/tasks/poll/x")).status_code == 204
