"""ConductorClient: both flavours against the embedded server, through either sender; tokens
renewed on time and on 401."""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from user_agent_sdk.conductor import (
    AKABOT,
    CONDUCTOR,
    AuthenticationError,
    ConductorClient,
    ConductorError,
    OAuth2ClientCredentials,
    OrkesKey,
    ServerUnavailable,
    TaskResult,
    TaskResultStatus,
)
from user_agent_sdk.server import RunningServer
from user_agent_sdk.transport import HttpxSender

from ..runtime.support import FLAVOURS, settings_for, submit, workflow
from .conftest import SenderFactory


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_polls_exactly_the_tasks_asked_for_and_updates_them(
    server: RunningServer, api: httpx.AsyncClient, flavour: str, sender_for: SenderFactory
) -> None:
    ids = [await submit(api, "echo", {"n": n}) for n in range(5)]
    settings = settings_for(server, flavour)
    async with ConductorClient(
        settings.api_url, settings.flavour, settings.credentials, sender=sender_for()
    ) as client:
        tasks = await client.poll("echo", count=3, worker_id="w1", timeout_ms=100)
        assert len(tasks) == 3
        for task in tasks:
            await client.update(
                TaskResult(task.task_id, TaskResultStatus.COMPLETED, output_data={"ok": True})
            )
    done = [await workflow(api, workflow_id) for workflow_id in ids]
    assert sum(found.status.value == "COMPLETED" for found in done) == 3


async def test_an_empty_akabot_poll_answers_at_once(
    server: RunningServer, sender_for: SenderFactory
) -> None:
    settings = settings_for(server, "akabot")
    async with ConductorClient(
        settings.api_url, AKABOT, settings.credentials, sender=sender_for()
    ) as client:
        with trio.fail_after(2):
            assert await client.poll("nothing", count=4, worker_id="w", timeout_ms=60_000) == []


async def test_an_unreachable_server_is_server_unavailable(sender_for: SenderFactory) -> None:
    async with ConductorClient("http://127.0.0.1:9/api", CONDUCTOR, sender=sender_for()) as client:
        with pytest.raises(ServerUnavailable, match=r"127\.0\.0\.1:9"):
            await client.poll("x", count=1, worker_id="w")


class FakeAuthServer:
    """A transport that issues numbered tokens and refuses all but the newest."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.seen_tokens: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            self.issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.issued}", "expires_in": self.expires_in}
            )
        token = request.headers.get("authorization", "")
        self.seen_tokens.append(token)
        if token != f"Bearer t{self.issued}":
            return httpx.Response(401, json={"error": "EXPIRED_TOKEN"})
        return httpx.Response(204)


def oauth_client(fake: FakeAuthServer) -> ConductorClient:
    credentials = OAuth2ClientCredentials("http://auth.test/token", "id", "secret")
    return ConductorClient(
        "http://api.test/api",
        AKABOT,
        credentials,
        sender=HttpxSender.with_transport(httpx.MockTransport(fake)),
    )


async def test_one_token_serves_every_request_until_it_is_near_expiry() -> None:
    fake = FakeAuthServer(expires_in=3600)
    async with oauth_client(fake) as client, trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(lambda: client.poll("x", count=1, worker_id="w"))
    assert fake.issued == 1


async def test_a_401_renews_the_token_at_once_and_repeats_the_request() -> None:
    fake = FakeAuthServer()
    async with oauth_client(fake) as client:
        await client.poll("x", count=1, worker_id="w")
        fake.issued += 1  # the server forgets the token (a restart)
        await client.poll("x", count=1, worker_id="w")
    assert fake.seen_tokens == ["Bearer t1", "Bearer t1", "Bearer t3"]


async def test_the_token_is_renewed_before_it_expires(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = FakeAuthServer(expires_in=100)
    async with oauth_client(fake) as client:
        await client.poll("x", count=1, worker_id="w")
        await trio.sleep(85)  # past 80% of its lifetime
        await client.poll("x", count=1, worker_id="w")
    assert fake.issued == 2
    assert fake.seen_tokens == ["Bearer t1", "Bearer t2"]


async def test_refused_client_credentials_are_an_authentication_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client", "error_description": "nope"})

    credentials = OAuth2ClientCredentials("http://auth.test/token", "me", "the-secret")
    async with ConductorClient(
        "http://api.test/api",
        AKABOT,
        credentials,
        sender=HttpxSender.with_transport(httpx.MockTransport(refuse)),
    ) as client:
        with pytest.raises(AuthenticationError, match="refused clientId 'me'") as raised:
            await client.authenticate()
    assert "the-secret" not in str(raised.value)


async def test_orkes_key_is_exchanged_for_an_x_authorization_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/token":
            assert json.loads(request.content) == {"keyId": "k", "keySecret": "s"}
            return httpx.Response(200, json={"token": "orkes-token"})
        return httpx.Response(200, json=[])

    async with ConductorClient(
        "http://api.test/api",
        CONDUCTOR,
        OrkesKey("k", "s"),
        sender=HttpxSender.with_transport(httpx.MockTransport(handler)),
    ) as client:
        assert await client.poll("x", count=2, worker_id="w", timeout_ms=10) == []
    assert seen[-1].headers["x-authorization"] == "orkes-token"
    assert seen[-1].url.params["count"] == "2"


async def test_a_token_that_would_break_the_request_head_is_refused_unseen() -> None:
    hostile = "t1\r\nX-Injected: yes"

    def token_server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": hostile, "expires_in": 60})
        raise AssertionError("no request may go out with that token")

    credentials = OAuth2ClientCredentials("http://auth.test/token", "id", "secret")
    async with ConductorClient(
        "http://api.test/api",
        AKABOT,
        credentials,
        sender=HttpxSender.with_transport(httpx.MockTransport(token_server)),
    ) as client:
        with pytest.raises(ConductorError, match="cannot be sent in an HTTP header") as caught:
            await client.poll("x", count=1, worker_id="w")
    assert "Injected" not in str(caught.value)
