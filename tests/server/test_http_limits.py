"""What a client can hold of the server, seen from raw sockets over loopback: a head over
the size limit is refused with 431, a request that stops arriving gets a 408, and past
the connection cap the longest-idle connection makes room (never one whose request is
running); every refusal is answered before the connection closes."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
from collections.abc import AsyncIterator

import attrs
import h11
import pytest
import trio

from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig

from ..processes import run_cli

WAIT_S = 10.0
"""How long any expected answer may take: generous, never a timing assertion."""


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Raw:
    """One connection to the server: requests written by hand, answers read by h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._h11 = h11.Connection(h11.CLIENT)
        self.port: int = stream.socket.getsockname()[1]
        """The client's port, by which the server's log names it."""

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def request(self, target: str, method: str = "GET", body: bytes = b"") -> Answer:
        head = f"{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n\r\n"
        await self.send(head.encode() + body)
        return await self.answer()

    async def answer(self) -> Answer:
        """The next answer; h11 is told of a request it did not write, to read it."""
        if self._h11.our_state is h11.IDLE:
            self._h11.send(h11.Request(method="GET", target="/", headers=[("Host", "test")]))
            self._h11.send(h11.EndOfMessage())
        response: h11.Response | None = None
        body = b""
        with trio.fail_after(WAIT_S):
            while True:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    self._h11.receive_data(await self.stream.receive_some())
                elif isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionError("the server closed the connection without answering")
        assert response is not None
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        headers = {k.decode(): v.decode() for k, v in response.headers}
        return Answer(response.status_code, headers, body)

    async def is_closed(self, within: float = WAIT_S) -> bool:
        """Whether the server closes the connection within ``within`` seconds (anything it
        still sends is read and dropped)."""
        with trio.move_on_after(within):
            try:
                while await self.stream.receive_some():
                    pass
            except trio.BrokenResourceError:
                pass  # reset: closed too
            return True
        return False


@contextlib.asynccontextmanager
async def connect(server: RunningServer) -> AsyncIterator[Raw]:
    port = int(server.base_url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield Raw(stream)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "user_agent_sdk.server" and record.levelno >= logging.WARNING
    ]


QUICK = "/api/tasks/queue/size?taskType=x"


# --- the head limit ---------------------------------------------------------------------


def _many_headers() -> bytes:
    """10,000 short headers: 80 KB of head, over the 64 KiB limit."""
    return b"GET " + QUICK.encode() + b" HTTP/1.1\r\nHost: t\r\n" + b"X-a: b\r\n" * 10_000 + b"\r\n"


@pytest.mark.parametrize("writes", [1, 2])
async def test_a_head_over_the_limit_is_refused_with_431(
    server: RunningServer, caplog: pytest.LogCaptureFixture, writes: int
) -> None:
    """In one write; or in two, the second bringing the end of the head along with
    what takes it over the limit."""
    head = _many_headers()
    async with connect(server) as client:
        if writes == 1:
            await client.send(head)
        else:
            await client.send(head[:60_000])
            await trio.sleep(0.1)
            await client.send(head[60_000:])
        answer = await client.answer()
        assert answer.status == 431
        assert answer.headers["connection"] == "close"
        assert await client.is_closed()
    assert len(_warnings(caplog)) == 1
    async with connect(server) as client:  # and the server goes on serving
        assert (await client.request(QUICK)).status == 200


async def test_a_head_over_the_limit_sent_byte_by_byte_is_refused_with_431(
    server: RunningServer,
) -> None:
    head = _many_headers()
    port = int(server.base_url.rsplit(":", 1)[1])

    def client() -> bytes:
        """Blocking, in a thread, so that the server has the event loop to itself: one
        byte per write until the server answers, then everything up to its close."""
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for n in range(len(head)):
                if n % 256 == 0 and select.select([sock], [], [], 0)[0]:
                    break
                sock.send(head[n : n + 1])
            received = b""
            while data := sock.recv(65536):  # b"" once the server has closed
                received += data
            return received

    received = await trio.to_thread.run_sync(client)
    assert received.startswith(b"HTTP/1.1 431 ")
    assert b"\r\nconnection: close\r\n" in received


async def test_a_head_just_under_the_limit_is_served(server: RunningServer) -> None:
    start = f"GET {QUICK} HTTP/1.1\r\nHost: t\r\nX-Pad: ".encode()
    head = start + b"p" * (64 * 1024 - len(start) - 4) + b"\r\n\r\n"
    async with connect(server) as client:
        await client.send(head)
        assert (await client.answer()).status == 200


# --- the request timeout ----------------------------------------------------------------


class TestRequestTimeout:
    TIMEOUT_S = 0.5

    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, request_timeout=self.TIMEOUT_S)

    async def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closes(
        self, server: RunningServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with connect(server) as client:
            await client.send(
                b'POST /api/workflow/x HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n{"a":'
            )
            answer = await client.answer()
            assert answer.status == 408
            assert await client.is_closed()
            [warning] = _warnings(caplog)
            assert "408" in warning
            assert f"127.0.0.1:{client.port}" in warning

    async def test_a_head_that_trickles_in_forever_gets_a_408(self, server: RunningServer) -> None:
        """The limit runs from the first byte: a client that keeps sending, slowly, does
        not hold the connection beyond it."""
        async with connect(server) as client, trio.open_nursery() as nursery:

            async def trickle() -> None:
                await client.send(f"GET {QUICK} HTTP/1.1\r\nHost: t\r\nX-Slow: ".encode())
                with contextlib.suppress(trio.BrokenResourceError):
                    while True:
                        await client.send(b"z")
                        await trio.sleep(self.TIMEOUT_S / 10)

            nursery.start_soon(trickle)
            assert (await client.answer()).status == 408
            assert await client.is_closed()
            nursery.cancel_scope.cancel()

    async def test_an_idle_keep_alive_connection_is_not_cut_by_it(
        self, server: RunningServer
    ) -> None:
        async with connect(server) as client:
            assert (await client.request(QUICK)).status == 200
            await trio.sleep(self.TIMEOUT_S * 3)
            assert (await client.request(QUICK)).status == 200

    async def test_a_long_poll_may_outlast_it(self, server: RunningServer) -> None:
        async with connect(server) as client:
            poll = "/api/tasks/poll/batch/x?timeout=1500&count=1"
            assert (await client.request(poll)).status == 204
            assert (await client.request(QUICK)).status == 200


# --- the connection cap -----------------------------------------------------------------

LONG_POLL = "/api/tasks/poll/batch/x?timeout=3000&count=1"


async def _start_long_poll(client: Raw) -> None:
    """A quick request and a long poll written together: the poll is already there when
    the first is answered, so the server goes straight on to it and the connection is
    never idle in between."""
    request = "GET {} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
    await client.send((request.format(QUICK) + request.format(LONG_POLL)).encode())
    assert (await client.answer()).status == 200


class TestConnectionCap:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, max_connections=3)

    async def test_the_longest_idle_connection_makes_room_for_a_new_one(
        self, server: RunningServer
    ) -> None:
        async with connect(server) as first, connect(server) as second, connect(server) as third:
            for client in (first, second, third):
                assert (await client.request(QUICK)).status == 200
            async with connect(server) as fourth:
                assert (await fourth.request(QUICK)).status == 200
                assert await first.is_closed()
                for client in (second, third, fourth):
                    assert (await client.request(QUICK)).status == 200

    async def test_a_connection_running_a_long_poll_is_not_closed_to_make_room(
        self, server: RunningServer
    ) -> None:
        async with connect(server) as poller, connect(server) as idle, connect(server) as other:
            await _start_long_poll(poller)  # idle the longest, were it idle
            assert (await idle.request(QUICK)).status == 200
            assert (await other.request(QUICK)).status == 200
            async with connect(server) as newcomer:
                submitted = await newcomer.request("/api/workflow/x", "POST", b"{}")
                assert submitted.status == 200
                assert await idle.is_closed()
                polled = await poller.answer()  # the task just submitted
                assert polled.status == 200
                assert b"taskId" in polled.body
                assert not await other.is_closed(within=0.1)


class TestConnectionCapWithNoneIdle:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, max_connections=2)

    async def test_new_connections_wait_until_one_is_free_and_one_warning_is_logged(
        self, server: RunningServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        answered: list[str] = []

        async def late(name: str) -> None:
            async with connect(server) as client:
                assert (await client.request(QUICK)).status == 200
                answered.append(name)

        async def finish(name: str, client: Raw) -> None:
            assert (await client.answer()).status == 204
            answered.append(name)

        async with connect(server) as first, connect(server) as second:
            await _start_long_poll(first)
            await _start_long_poll(second)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(late, "late")
                nursery.start_soon(late, "late")
                # The polls run for seconds: well before they end, both late connections
                # are waiting, unanswered, and the server has said so once.
                await trio.sleep(0.5)
                assert answered == []
                [warning] = _warnings(caplog)
                assert "2 connections" in warning
                nursery.start_soon(finish, "poll", first)
                nursery.start_soon(finish, "poll", second)
        assert sorted(answered) == ["late", "late", "poll", "poll"]
        assert len(_warnings(caplog)) == 1


def test_the_command_line_takes_a_cap() -> None:
    usage = run_cli(["server", "--help"])
    assert "--max-connections N" in usage.stdout
    option = usage.stdout.split("  --max-connections N", 1)[1].split("\n  --", 1)[0]
    assert "default" in option
    refused = run_cli(["server", "--memory", "--max-connections", "0"])
    assert refused.returncode == 2
    assert "--max-connections must be positive" in refused.stderr


class TestWhileALongPollWaits:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, max_body_bytes=1024)

    async def test_what_the_client_sends_meanwhile_is_not_buffered_without_bound(
        self, server: RunningServer
    ) -> None:
        """Bytes beyond one request's worth are left in the socket: the client's sends
        stall instead of the server's memory growing."""
        flood = b"x" * (64 * 1024 * 1024)
        async with connect(server) as client:
            await client.send(
                b"GET /api/tasks/poll/batch/x?count=1&timeout=3000 HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            with trio.move_on_after(2) as stalled:
                await client.send(flood)
            assert stalled.cancelled_caught, "64 MiB went through while the poll waited"
            answer = await client.answer()
            assert answer.status == 204  # the poll itself is still answered


def test_the_command_line_takes_a_request_timeout() -> None:
    usage = run_cli(["server", "--help"])
    assert "--request-timeout SECONDS" in usage.stdout
    refused = run_cli(["server", "--memory", "--request-timeout", "0"])
    assert refused.returncode == 2
    assert "--request-timeout must be positive" in refused.stderr
