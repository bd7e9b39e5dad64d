"""One client connection of the pool: a request written in one piece, its answer read.

Plain connections are non-blocking sockets that only wait (``wait_readable`` /
``wait_writable``) when the bytes are not there yet; TLS connections go through
:class:`trio.SSLStream`. Both are framed by :mod:`._framing`.
"""

from __future__ import annotations

import socket
import ssl
from typing import Protocol

import trio

from .._errors import UserAgentError
from ._failures import failure_reason
from ._framing import (
    MalformedHttp,
    MessageReader,
    PeerClosed,
    keep_alive,
    parse_response_head,
    read_body,
    response_framing,
)
from ._sender import KEEP_ALIVE_S
from ._sockets import READ_SIZE, receive, send_all

MAX_ANSWER_BYTES = 256 * 1024 * 1024
FRESH_S = 1.0
"""A connection idle for less than this is reused without checking that it is still open."""
EARLY_ANSWER_S = 1.0
"""After sending failed, how long an answer the server sent first may take to be read."""


class ConnectionBroken(UserAgentError):
    """The connection failed; ``answered`` tells whether any of the answer had arrived.

    The pool turns it into a retry or a :class:`~._sender.NoAnswer`: it never leaves the
    package."""

    def __init__(self, reason: str, *, answered: bool) -> None:
        super().__init__(reason)
        self.answered = answered


class _Stream(Protocol):
    async def send_all(self, data: bytes) -> None: ...

    async def receive(self) -> bytes: ...

    def is_stale(self) -> bool: ...

    def close_now(self) -> None: ...

    async def close(self) -> None: ...


class _PlainSocket:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def send_all(self, data: bytes) -> None:
        await send_all(self._sock, data)

    async def receive(self) -> bytes:
        return await receive(self._sock)

    def is_stale(self) -> bool:
        return _closed_by_peer(self._sock)

    def close_now(self) -> None:
        trio.lowlevel.notify_closing(self._sock)
        self._sock.close()

    async def close(self) -> None:
        self.close_now()


class _TlsStream:
    def __init__(self, stream: trio.SSLStream[trio.SocketStream]) -> None:
        self._stream = stream

    async def send_all(self, data: bytes) -> None:
        await self._stream.send_all(data)

    async def receive(self) -> bytes:
        return bytes(await self._stream.receive_some(READ_SIZE))

    def is_stale(self) -> bool:
        raw = self._stream.transport_stream.socket
        try:
            return raw.is_readable()
        except OSError:
            return True

    def close_now(self) -> None:
        self._stream.transport_stream.socket.close()

    async def close(self) -> None:
        await trio.aclose_forcefully(self._stream)


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle keep-alive socket has nothing to read; anything readable means it is done."""
    try:
        sock.recv(1, socket.MSG_PEEK)  # b"" (closed) or stray bytes: unusable either way
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


class ClientConnection:
    """One HTTP/1.1 connection, reused request after request while both sides allow."""

    def __init__(self, stream: _Stream) -> None:
        self.stream = stream
        self.reader = MessageReader(stream.receive)
        self.idle_since = trio.current_time()

    def is_stale(self) -> bool:
        idle = trio.current_time() - self.idle_since
        if idle > KEEP_ALIVE_S or self.reader.buffered > 0:
            return True
        # A server closes an idle connection after seconds, not milliseconds: under load
        # the check (a system call) is skipped, and the rare loser is retried anyway.
        return idle > FRESH_S and self.stream.is_stale()

    async def exchange(self, method: str, request: bytes) -> tuple[int, bytes, bool]:
        """Send ``request``; the answer's status and body, and whether to reuse the connection."""
        try:
            await self.stream.send_all(request)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            early = await self._early_answer(method)
            if early is None:
                raise ConnectionBroken(
                    f"sending failed: {failure_reason(exc)}", answered=False
                ) from None
            return early
        return await self._answer(method)

    async def _early_answer(self, method: str) -> tuple[int, bytes, bool] | None:
        """The answer a server sent before it stopped reading the request (a 413 to a
        body past its limit, say), if it is there to read; the connection is done."""
        with trio.move_on_after(EARLY_ANSWER_S):
            try:
                status, body, _ = await self._answer(method)
            except ConnectionBroken:
                return None
            return status, body, False
        return None

    async def _answer(self, method: str) -> tuple[int, bytes, bool]:
        answered = False
        try:
            while True:
                data = await self.reader.read_head()
                if data is None:
                    raise ConnectionBroken("the server closed the connection", answered=False)
                answered = True
                head = parse_response_head(data)
                if head.status >= 200 or head.status == 101:
                    break  # 1xx (100 Continue) answers come before the real one
            framing = response_framing(head, method)
            body = await read_body(self.reader, framing, MAX_ANSWER_BYTES)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ConnectionBroken(
                f"receiving failed: {failure_reason(exc)}", answered=answered
            ) from None
        except PeerClosed as exc:
            raise ConnectionBroken(
                f"the server closed the connection: {exc}", answered=answered
            ) from None
        except MalformedHttp as exc:
            raise ConnectionBroken(f"bad HTTP from the server: {exc}", answered=True) from None
        reusable = not framing.to_end and keep_alive(head.version, head.headers)
        self.idle_since = trio.current_time()
        return head.status, body, reusable

    async def close(self) -> None:
        await self.stream.close()


async def open_connection(host: str, port: int, tls: ssl.SSLContext | None) -> ClientConnection:
    """A new connection to ``host:port`` (TLS when ``tls`` is given); raises OSError,
    :class:`trio.BrokenResourceError` or :class:`ssl.SSLError` when it cannot be made."""
    tcp = await trio.open_tcp_stream(host, port)
    tcp.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
    if tls is not None:
        stream = trio.SSLStream(tcp, tls, server_hostname=host)
        await stream.do_handshake()
        return ClientConnection(_TlsStream(stream))
    sock = socket.socket(fileno=tcp.socket.detach())
    sock.setblocking(False)
    return ClientConnection(_PlainSocket(sock))
