"""ConductorClient: both flavours against the embedded server, through either sender; tokens
renewed on time and on 401."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import attrs
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
from user_agent_sdk.transport import HttpxSender, PoolSender, Request, Response, Sender, serve_http

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


@attrs.frozen
class Seen:
    """A request as a fake server saw it, whichever sender carried it."""

    path: str
    headers: dict[str, str]
    """Lower-case names."""
    params: dict[str, str]
    body: bytes


FakeHandler = Callable[[Seen], tuple[int, Any]]
"""Answers a request with a status and a JSON body (None: no body)."""
FakeApi = Callable[[FakeHandler], AbstractAsyncContextManager[tuple[str, str, Sender]]]
"""``async with fake_api(handler) as (api_url, token_url, sender)``."""


@asynccontextmanager
async def _over_loopback(handler: FakeHandler) -> AsyncIterator[tuple[str, str, Sender]]:
    """``handler`` served on 127.0.0.1, reached through the pool."""

    async def serve(request: Request) -> Response:
        params = {name: values[-1] for name, values in request.query.items()}
        status, data = handler(Seen(request.path, request.headers, params, request.body))
        return Response(status) if data is None else Response.json(data, status)

    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_http, serve, "127.0.0.1", 0)
        origin = f"http://127.0.0.1:{port}"
        yield f"{origin}/api", f"{origin}/oauth/token", PoolSender()
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def _over_mock_transport(handler: FakeHandler) -> AsyncIterator[tuple[str, str, Sender]]:
    """``handler`` behind an ``httpx.MockTransport``, reached through httpx."""

    def serve(request: httpx.Request) -> httpx.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        seen = Seen(request.url.path, headers, dict(request.url.params), request.content)
        status, data = handler(seen)
        return httpx.Response(status) if data is None else httpx.Response(status, json=data)

    sender = HttpxSender.with_transport(httpx.MockTransport(serve))
    yield "http://api.test/api", "http://auth.test/token", sender


@pytest.fixture(params=[_over_loopback, _over_mock_transport], ids=["pool", "httpx"])
def fake_api(request: pytest.FixtureRequest) -> FakeApi:
    kind: FakeApi = request.param
    return kind


class FakeAuthServer:
    """Issues numbered tokens and refuses all but the newest."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.seen_tokens: list[str] = []

    def __call__(self, request: Seen) -> tuple[int, Any]:
        if request.path.endswith("/token"):
            self.issued += 1
            return 200, {"access_token": f"t{self.issued}", "expires_in": self.expires_in}
        token = request.headers.get("authorization", "")
        self.seen_tokens.append(token)
        if token != f"Bearer t{self.issued}":
            return 401, {"error": "EXPIRED_TOKEN"}
        return 204, None


@asynccontextmanager
async def oauth_client(
    fake: FakeAuthServer, fake_api: FakeApi = _over_mock_transport
) -> AsyncIterator[ConductorClient]:
    async with fake_api(fake) as (api_url, token_url, sender):
        credentials = OAuth2ClientCredentials(token_url, "id", "secret")
        async with ConductorClient(api_url, AKABOT, credentials, sender=sender) as client:
            yield client


async def test_one_token_serves_every_request_until_it_is_near_expiry(fake_api: FakeApi) -> None:
    fake = FakeAuthServer(expires_in=3600)
    async with oauth_client(fake, fake_api) as client, trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(lambda: client.poll("x", count=1, worker_id="w"))
    assert fake.issued == 1


async def test_a_401_renews_the_token_at_once_and_repeats_the_request(fake_api: FakeApi) -> None:
    fake = FakeAuthServer()
    async with oauth_client(fake, fake_api) as client:
        await client.poll("x", count=1, worker_id="w")
        fake.issued += 1  # the server forgets the token (a restart)
        await client.poll("x", count=1, worker_id="w")
    assert fake.seen_tokens == ["Bearer t1", "Bearer t1", "Bearer t3"]


async def test_the_token_is_renewed_before_it_expires(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Over the mock transport only: the jumping clock would also time out real sockets.
    fake = FakeAuthServer(expires_in=100)
    async with oauth_client(fake) as client:
        await client.poll("x", count=1, worker_id="w")
        await trio.sleep(85)  # past 80% of its lifetime
        await client.poll("x", count=1, worker_id="w")
    assert fake.issued == 2
    assert fake.seen_tokens == ["Bearer t1", "Bearer t2"]


async def test_refused_client_credentials_are_an_authentication_error(fake_api: FakeApi) -> None:
    def refuse(request: Seen) -> tuple[int, Any]:
        return 401, {"error": "invalid_client", "error_description": "nope"}

    async with fake_api(refuse) as (api_url, token_url, sender):
        credentials = OAuth2ClientCredentials(token_url, "me", "the-secret")
        async with ConductorClient(api_url, AKABOT, credentials, sender=sender) as client:
            with pytest.raises(AuthenticationError, match="refused clientId 'me'") as raised:
                await client.authenticate()
    assert "the-secret" not in str(raised.value)


async def test_orkes_key_is_exchanged_for_an_x_authorization_token(fake_api: FakeApi) -> None:
    seen: list[Seen] = []

    def handler(request: Seen) -> tuple[int, Any]:
        seen.append(request)
        if request.path == "/api/token":
            assert json.loads(request.body) == {"keyId": "k", "keySecret": "s"}
            return 200, {"token": "orkes-token"}
        return 200, []

    async with (
        fake_api(handler) as (api_url, _, sender),
        ConductorClient(api_url, CONDUCTOR, OrkesKey("k", "s"), sender=sender) as client,
    ):
        assert await client.poll("x", count=2, worker_id="w", timeout_ms=10) == []
    assert seen[-1].headers["x-authorization"] == "orkes-token"
    assert seen[-1].params["count"] == "2"


async def test_a_token_that_would_break_the_request_head_is_refused_unseen(
    fake_api: FakeApi,
) -> None:
    hostile = "t1\r\nX-Injected: yes"
    sent_with_it: list[Seen] = []

    def token_server(request: Seen) -> tuple[int, Any]:
        if request.path.endswith("/token"):
            return 200, {"access_token": hostile, "expires_in": 60}
        sent_with_it.append(request)  # no request may go out with that token
        return 204, None

    async with fake_api(token_server) as (api_url, token_url, sender):
        credentials = OAuth2ClientCredentials(token_url, "id", "secret")
        async with ConductorClient(api_url, AKABOT, credentials, sender=sender) as client:
            with pytest.raises(ConductorError, match="cannot be sent in an HTTP header") as caught:
                await client.poll("x", count=1, worker_id="w")
    assert "Injected" not in str(caught.value)
    assert sent_with_it == []
