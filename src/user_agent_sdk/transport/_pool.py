"""A keep-alive HTTP/1.1 connection pool for the hot path: polls and updates.

Measured on this project's benchmarks, httpx's pool cost about four times the CPU per
request of h11 on trio streams, and h11 on trio streams about twice what this pool
costs: requests are written in one piece, answers are framed by
:mod:`user_agent_sdk._http1`, and plain connections are non-blocking sockets that
only wait (``wait_readable``/``wait_writable``) when the bytes are not there yet.
TLS connections go through :class:`trio.SSLStream` with the same framing.
"""

from __future__ import annotations

import socket
import ssl
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import trio

from .._http1 import (
    MessageReader,
    PeerClosed,
    ProtocolError,
    encode_request,
    keep_alive,
    parse_response_head,
    read_body,
    response_framing,
)
from .._nonblocking import READ_SIZE, receive, send_all
from ._errors import ServerUnavailable
from ._reply import Reply

CONNECT_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 30.0
"""Idle connections older than this are closed rather than reused (proxies and load
balancers drop idle connections after a minute or so)."""
FRESH_S = 1.0
"""A connection idle for less than this is reused without checking that it is still open."""
MAX_ANSWER_BYTES = 256 * 1024 * 1024
EARLY_ANSWER_S = 1.0
"""After sending failed, how long an answer the server sent first may take to be read."""


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The client TLS context: the CAs in ``ca_bundle`` (a PEM file) when given, else
    httpx's default (``$SSL_CERT_FILE`` or ``$SSL_CERT_DIR`` when set, else certifi's).

    Raises OSError or ssl.SSLError when ``ca_bundle`` cannot be read as PEM certificates.
    """
    if ca_bundle is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=ca_bundle)


def failure_reason(exc: BaseException, host: str | None = None, port: int | None = None) -> str:
    """One line naming why a connection failed, from the error trio or httpx raised.

    The cause (an :class:`ssl.SSLError` or :class:`OSError`) often hides behind a
    wrapper with an empty message (:class:`trio.BrokenResourceError`) or a group (every
    address refused): the chain of causes and groups is searched for it.
    """
    where = host if host is not None else "the server"
    address = f"{host}:{port}" if host is not None and port is not None else where
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "unknown reason"
            if "hostname mismatch" in detail.lower() or "ip address mismatch" in detail.lower():
                return (
                    f"TLS certificate verify failed: the certificate of {where} is for "
                    f"another host name ({detail})"
                )
            return (
                f"TLS certificate verify failed for {where}: {detail} (to trust a private "
                f"CA, set caBundle in credentials.json or $USERAGENT_CA_BUNDLE)"
            )
        if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return f"{where} closed the TLS connection abruptly ({_ssl_text(cause)})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error with {where}: {_ssl_text(cause)}"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name {where!r}: {cause.strerror or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {address} (is the server running?)"
        if isinstance(cause, TimeoutError):
            return f"connecting to {address} timed out"
        if isinstance(cause, ConnectionResetError):
            return f"the connection was reset by {where}"
    for cause in _causes(exc):
        if isinstance(cause, OSError) and (cause.strerror or str(cause)):
            return cause.strerror or str(cause)
    return str(exc) or f"{type(exc).__name__} (no detail given)"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, then what it was raised from or while handling, and groups' members."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def _ssl_text(exc: ssl.SSLError) -> str:
    # str() carries "[SSL: CODE] text (_ssl.c:NNN)"; the text alone reads better.
    text = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    return text.split(" (_ssl.c:")[0]


class _Broken(Exception):
    """The connection failed; ``answered`` tells whether any of the answer had arrived."""

    def __init__(self, reason: str, *, answered: bool) -> None:
        super().__init__(reason)
        self.answered = answered


class _Transport(Protocol):
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


class _Connection:
    """One HTTP/1.1 connection, reused request after request while both sides allow."""

    def __init__(self, transport: _Transport) -> None:
        self.transport = transport
        self.reader = MessageReader(transport.receive)
        self.idle_since = trio.current_time()

    def is_stale(self) -> bool:
        idle = trio.current_time() - self.idle_since
        if idle > KEEP_ALIVE_S or self.reader.buffered > 0:
            return True
        # A server closes an idle connection after seconds, not milliseconds: under load
        # the check (a system call) is skipped, and the rare loser is retried anyway.
        return idle > FRESH_S and self.transport.is_stale()

    async def exchange(self, method: str, request: bytes) -> tuple[int, bytes, bool]:
        """Send ``request``; the answer's status and body, and whether to reuse the connection."""
        try:
            await self.transport.send_all(request)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            early = await self._early_answer(method)
            if early is None:
                raise _Broken(f"sending failed: {failure_reason(exc)}", answered=False) from None
            return early
        return await self._answer(method)

    async def _early_answer(self, method: str) -> tuple[int, bytes, bool] | None:
        """The answer a server sent before it stopped reading the request (a 413 to a
        body past its limit, say), if it is there to read; the connection is done."""
        with trio.move_on_after(EARLY_ANSWER_S):
            try:
                status, body, _ = await self._answer(method)
            except _Broken:
                return None
            return status, body, False
        return None

    async def _answer(self, method: str) -> tuple[int, bytes, bool]:
        answered = False
        try:
            while True:
                data = await self.reader.read_head()
                if data is None:
                    raise _Broken("the server closed the connection", answered=False)
                answered = True
                head = parse_response_head(data)
                if head.status >= 200 or head.status == 101:
                    break  # 1xx (100 Continue) answers come before the real one
            framing = response_framing(head, method)
            body = await read_body(self.reader, framing, MAX_ANSWER_BYTES)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise _Broken(f"receiving failed: {failure_reason(exc)}", answered=answered) from None
        except PeerClosed as exc:
            raise _Broken(f"the server closed the connection: {exc}", answered=answered) from None
        except ProtocolError as exc:
            raise _Broken(f"bad HTTP from the server: {exc}", answered=True) from None
        reusable = not framing.to_end and keep_alive(head.version, head.headers)
        self.idle_since = trio.current_time()
        return head.status, body, reusable

    async def close(self) -> None:
        await self.transport.close()


class Pool:
    """Keep-alive HTTP/1.1 connections to one origin (plain or TLS), most recent first.

    At most ``max_connections`` requests are in flight; more wait their turn. A request
    that finds its reused connection closed by the server before any of the answer
    arrived is sent once more, byte for byte, on a new connection. Usually it never ran
    (the server had closed the idle connection); if it did, the repeat must be harmless:
    results are (an ended attempt ignores them), and requests that lease tasks carry an
    ``Idempotency-Key`` so that the server answers the repeat with the same tasks.
    """

    def __init__(
        self, url: str, max_connections: int, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None or parts.port == (443 if self._tls else 80)
        self._host_header = self._host if default_port else parts.netloc.rpartition("@")[2]
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._ssl: ssl.SSLContext | None = None
        if self._tls:
            self._ssl = ssl_context or tls_context()
        self._idle: list[_Connection] = []
        self._room = trio.Semaphore(max_connections)

    async def send(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, limit_s: float
    ) -> Reply:
        """One request; :class:`ServerUnavailable` when no answer came within ``limit_s``."""
        all_headers = [("Host", self._host_header), *headers]
        if body or method in ("POST", "PUT"):
            all_headers.append(("Content-Length", str(len(body))))
        request = encode_request(method, target, all_headers, body)
        with trio.move_on_after(limit_s):
            # A free connection slot is taken without a trip through the scheduler
            # (Semaphore.acquire always yields once); the exchange checkpoints anyway.
            try:
                self._room.acquire_nowait()
            except trio.WouldBlock:
                await self._room.acquire()
            try:
                status, data = await self._exchange(method, target, request)
            finally:
                self._room.release()
            return Reply(method, self.origin + target, status, data)
        raise ServerUnavailable(f"{method} {self.origin}{target}: timed out after {limit_s:g} s")

    async def _exchange(self, method: str, target: str, request: bytes) -> tuple[int, bytes]:
        connection = self._reuse()
        reused = connection is not None
        for _attempt in range(2):
            if connection is None:
                connection = await self._connect(method, target)
            try:
                status, data, reusable = await connection.exchange(method, request)
            except _Broken as exc:
                await connection.close()
                if reused and not exc.answered:
                    connection, reused = None, False
                    continue
                raise ServerUnavailable(f"{method} {self.origin}{target}: {exc}") from None
            except BaseException:  # cancelled mid-exchange: the connection is unusable
                await connection.close()
                raise
            if reusable:
                self._idle.append(connection)
            else:
                await connection.close()
            return status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _reuse(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_stale():
                return connection
            connection.transport.close_now()
        return None

    async def _connect(self, method: str, target: str) -> _Connection:
        try:
            with trio.fail_after(CONNECT_TIMEOUT_S):
                tcp = await trio.open_tcp_stream(self._host, self._port)
                tcp.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
                if self._ssl is not None:
                    tls = trio.SSLStream(tcp, self._ssl, server_hostname=self._host)
                    await tls.do_handshake()
                    return _Connection(_TlsStream(tls))
        except trio.TooSlowError:
            raise ServerUnavailable(
                f"{method} {self.origin}{target}: connecting timed out after "
                f"{CONNECT_TIMEOUT_S:g} s"
            ) from None
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            reason = failure_reason(exc, self._host, self._port)
            raise ServerUnavailable(f"{method} {self.origin}{target}: {reason}") from None
        sock = socket.socket(fileno=tcp.socket.detach())
        sock.setblocking(False)
        return _Connection(_PlainSocket(sock))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
