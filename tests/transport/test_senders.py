"""The two senders keep the same promises: what goes on the wire, time limits, keep-alive,
proxies. Each test runs once per sender against a raw HTTP/1.1 peer on loopback."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from user_agent_sdk.transport import HttpxSender, NoAnswer, PoolSender, Sender
from user_agent_sdk.transport._framing import (
    MessageReader,
    RequestHead,
    parse_request_head,
    read_body,
    request_framing,
)

SenderKind = Callable[[], Sender]

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(params=[PoolSender, HttpxSender], ids=["pool", "httpx"])
def new_sender(request: pytest.FixtureRequest) -> SenderKind:
    kind: SenderKind = request.param
    return kind


class Peer:
    """Reads requests and answers each with ``answer`` (None: never answers)."""

    def __init__(self, answer: bytes | None = OK) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[RequestHead, bytes]] = []

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        reader = MessageReader(functools.partial(stream.receive_some, 65536))
        async with stream:
            while (data := await reader.read_head()) is not None:
                head = parse_request_head(data)
                self.requests.append(
                    (head, await read_body(reader, request_framing(head), 1 << 20))
                )
                if self.answer is None:
                    await trio.sleep_forever()
                await stream.send_all(self.answer)


@asynccontextmanager
async def listening(peer: Peer) -> AsyncIterator[str]:
    """``peer`` on 127.0.0.1; yields its origin."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, peer.handle, 0, host="127.0.0.1")
        )
        yield f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def test_only_host_and_content_length_are_added(new_sender: SenderKind) -> None:
    peer = Peer()
    async with listening(peer) as origin:
        sender = new_sender()
        try:
            answer = await sender.send("POST", f"{origin}/api/x?a=1", [("X-Mine", "1")], b"hi", 5)
        finally:
            await sender.aclose()
    assert (answer.status, answer.body, answer.url) == (200, b"ok", f"{origin}/api/x?a=1")
    head, body = peer.requests[0]
    assert (head.method, head.target, body) == ("POST", "/api/x?a=1", b"hi")
    assert head.headers == {
        "host": origin.removeprefix("http://"),
        "x-mine": "1",
        "content-length": "2",
    }


async def test_the_limit_bounds_the_whole_request(new_sender: SenderKind) -> None:
    async with listening(Peer(answer=None)) as origin:
        sender = new_sender()
        try:
            started = trio.current_time()
            with pytest.raises(
                NoAnswer, match=r"^GET http://127\.0\.0\.1:\d+/slow: timed out after 0\.3 s$"
            ):
                await sender.send("GET", f"{origin}/slow", [], b"", 0.3)
            assert trio.current_time() - started < 2
        finally:
            await sender.aclose()


async def test_a_connection_is_kept_alive_between_requests(new_sender: SenderKind) -> None:
    peer = Peer()
    async with listening(peer) as origin:
        sender = new_sender()
        try:
            for _ in range(3):
                assert (await sender.send("GET", f"{origin}/", [], b"", 5)).status == 200
        finally:
            await sender.aclose()
    assert (peer.connections, len(peer.requests)) == (1, 3)


async def test_a_refused_connection_is_no_answer_naming_the_address(
    new_sender: SenderKind,
) -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        sender = new_sender()
        try:
            with pytest.raises(NoAnswer, match=f"connection refused by 127.0.0.1:{port}"):
                await sender.send("GET", f"http://127.0.0.1:{port}/", [], b"", 5)
        finally:
            await sender.aclose()


async def test_the_environments_proxy_is_used(
    new_sender: SenderKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Peer()
    async with listening(proxy) as proxy_origin:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy_origin)
        monkeypatch.setenv("http_proxy", proxy_origin)
        sender = new_sender()
        try:
            answer = await sender.send("GET", "http://origin.test/api/ping", [], b"", 5)
        finally:
            await sender.aclose()
    assert answer.status == 200
    head, _ = proxy.requests[0]
    assert (head.target, head.headers["host"]) == ("http://origin.test/api/ping", "origin.test")


def test_the_transport_package_loads_httpx_only_for_httpx_sender() -> None:
    check = (
        "import sys, user_agent_sdk.transport as transport\n"
        "assert 'httpx' not in sys.modules\n"
        "transport.HttpxSender\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)
