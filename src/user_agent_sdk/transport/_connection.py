"""The server side of one connection: requests read, handled and answered one at a time.

It works on a non-blocking socket and only waits (``wait_readable`` / ``wait_writable``)
when the bytes are not there yet: a request that has fully arrived is parsed, handled
and answered without extra trips through trio's scheduler, which is most of the cost of
a small request. Framing is :mod:`._framing`'s.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import attrs
import trio

from ._framing import (
    MAX_HEAD_BYTES,
    MalformedHttp,
    MessageReader,
    PeerClosed,
    RequestHead,
    encode_response,
    keep_alive,
    parse_request_head,
    read_body,
    request_framing,
)
from ._limits import HTTPLimits
from ._messages import Handler, HTTPError, Request, Response, reason_phrase
from ._sockets import READ_SIZE, receive, send_all

log = logging.getLogger("user_agent_sdk.server")

_SERVER_HEADER = ("server", "useragent-server")


class OpenConnections:
    """The open connections of one listener, and which of them are idle."""

    _WARN_EVERY_S = 60.0

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[ServerConnection] = set()
        # Idle connections with the cancel scope of their wait, longest idle first (a
        # dict keeps insertion order, and a connection is re-inserted each time).
        self.idle: dict[ServerConnection, trio.CancelScope] = {}
        self._room: trio.Event | None = None
        self._warned_at = -math.inf

    def full(self) -> bool:
        return len(self._open) >= self.limit

    def opened(self, connection: ServerConnection) -> None:
        self._open.add(connection)

    def closed(self, connection: ServerConnection) -> None:
        self._open.discard(connection)
        if self._room is not None:
            self._room.set()

    def now_idle(self, connection: ServerConnection, scope: trio.CancelScope) -> None:
        self.idle[connection] = scope
        # Waking the acceptor here, not only when a connection closes: busy keep-alive
        # connections (workers polling back to back) might never close on their own.
        if self._room is not None:
            self._room.set()

    def now_busy(self, connection: ServerConnection) -> None:
        self.idle.pop(connection, None)

    def close_longest_idle(self) -> bool:
        """Close the connection idle the longest, if any; it counts as closed at once."""
        connection = next(iter(self.idle), None)
        if connection is None:
            return False
        self.idle.pop(connection).cancel()
        self._open.discard(connection)
        log.debug("closing the idle connection from %s to make room", connection.client)
        return True

    async def wait_for_room(self) -> None:
        """Until a connection closes or becomes idle; one warning a minute at most."""
        now = trio.current_time()
        if now - self._warned_at >= self._WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "%d connections are open, the most allowed, and none is idle: "
                "new connections wait until one is",
                self.limit,
            )
        self._room = trio.Event()
        try:
            await self._room.wait()
        finally:
            self._room = None


@attrs.frozen(eq=False)
class Service:
    """What every connection of one listener shares."""

    handler: Handler
    limits: HTTPLimits
    may_wait: Callable[[Request], bool]
    """Which requests may take a while (long polls): the client is watched meanwhile."""
    connections: OpenConnections


class _ClientGone(Exception):
    pass


class _Expired(Exception):
    """The request being read is past its deadline."""


class _Refused(Exception):
    """A request refused before its handler ran: answered with ``error``, then closed."""

    def __init__(self, error: HTTPError, what: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.what = what


class ServerConnection:
    """One client connection of ``service``'s listener (see the module docstring)."""

    def __init__(self, sock: socket.socket, client: str, service: Service) -> None:
        self._sock = sock
        self.client = client
        self._handler = service.handler
        self._limits = service.limits
        self._may_wait = service.may_wait
        self._connections = service.connections
        self._reader = MessageReader(self._receive)
        self._deadline = math.inf
        """When the request being read must have arrived in full."""

    async def serve(self) -> None:
        try:
            while await self._serve_one():
                # One checkpoint per request keeps a busy client from starving the others.
                await trio.lowlevel.checkpoint()
        except (_ClientGone, ConnectionError, PeerClosed):
            pass  # the client went away; nothing to answer
        except MalformedHttp as exc:
            log.warning("%d bad HTTP from %s: %s", exc.status, self.client, exc)
            await self._refuse(HTTPError(exc.status, str(exc)))
        except _Refused as refused:
            error = refused.error
            log.warning("%d %s from %s: %s", error.status, refused.what, self.client, error.message)
            await self._refuse(error)
        finally:
            self._connections.closed(self)
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()

    async def _serve_one(self) -> bool:
        """Read one request and answer it; False once the connection must close."""
        limits = self._limits
        if not self._reader.buffered:
            data = b""
            with trio.CancelScope(deadline=trio.current_time() + limits.idle_timeout) as idle:
                self._connections.now_idle(self, idle)
                try:
                    data = await receive(self._sock)
                finally:
                    self._connections.now_busy(self)
            # Closed to make room, or timed out, even if bytes arrived meanwhile: the
            # request is dropped unread (it never ran), as if the connection had closed
            # a moment earlier.
            if not data or idle.cancel_called:
                return False
            self._reader.feed(data)
        # The request's first byte is here. A deadline, not a cancel scope: most requests
        # arrive whole, and only a wait for more of one needs a scope (see _receive).
        self._deadline = trio.current_time() + limits.request_timeout
        try:
            received = await self._read_request()
        except _Expired:
            error = HTTPError(
                408, f"the request did not arrive in full within {limits.request_timeout:g} s"
            )
            raise _Refused(error, "request") from None
        if received is None:
            return False  # the client closed the connection after empty lines
        request, reuse = received
        if self._may_wait(request):
            response = await self._respond_while_connected(request)
        else:
            response = await self._respond(request)
        if response is None:
            return False  # the client hung up; the handler was cancelled
        try:
            await self._send(response, close=not reuse)
        except (_ClientGone, ConnectionError):
            if response.on_undelivered is not None:
                response.on_undelivered()
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%d %s %s (%s)", response.status, request.method, request.path, self.client)
        return reuse

    async def _read_request(self) -> tuple[Request, bool] | None:
        """The next request, fully read, and whether the connection may carry another;
        None if the stream ended before a request started."""
        data = await self._reader.read_head()
        if data is None:
            return None
        head = parse_request_head(data)
        framing = request_framing(head)
        limit = self._limits.max_body_bytes
        if head.headers.get("expect", "").lower() == "100-continue" and (
            framing.length is None or framing.length <= limit
        ):
            await self._send_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = await read_body(self._reader, framing, limit)
        except MalformedHttp as exc:
            if exc.status != 413:
                raise
            error = HTTPError(413, f"request body exceeds the limit of {limit} bytes")
            raise _Refused(error, _describe(head)) from None
        target = urlsplit(head.target)
        request = Request(
            method=head.method,
            path=target.path,
            query=parse_qs(target.query, keep_blank_values=True),
            headers=head.headers,
            body=body,
            client=self.client,
        )
        return request, keep_alive(head.version, head.headers)

    async def _respond_while_connected(self, request: Request) -> Response | None:
        """Run the handler, cancelling it if the client hangs up meanwhile.

        A long poll must not lease a task to a client that is gone: watching the socket
        while the handler waits turns a hang-up into a cancellation, and the engine
        leases nothing to a cancelled poll.
        """
        response: Response | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_for_hang_up, nursery.cancel_scope)
            response = await self._respond(request)
            nursery.cancel_scope.cancel()
        return response

    async def _watch_for_hang_up(self, scope: trio.CancelScope) -> None:
        # What a client sends while its request is handled is kept for later (pipelined
        # requests), up to what one request may hold; past that it is left unread, in the
        # socket's buffers, so a client cannot grow the server's memory meanwhile.
        most = MAX_HEAD_BYTES + self._limits.max_body_bytes
        while self._reader.buffered < most:
            await trio.lowlevel.wait_readable(self._sock)
            try:
                data = self._sock.recv(READ_SIZE)
            except BlockingIOError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                scope.cancel()
                return
            self._reader.feed(data)  # a pipelined request: kept for later

    async def _respond(self, request: Request) -> Response:
        try:
            return await self._handler(request)
        except HTTPError as error:
            log.warning(
                "%d %s %s from %s: %s",
                error.status,
                request.method,
                request.path,
                request.client,
                error.message,
            )
            return error.to_response()
        except Exception as exc:
            # One line for the operator, no traceback for the client; debug logging
            # keeps the traceback for whoever is chasing the bug.
            log.error(  # noqa: TRY400 - the traceback only at debug level
                "500 %s %s: %s: %s",
                request.method,
                request.path,
                type(exc).__name__,
                exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return HTTPError(500, "internal server error").to_response()

    async def _receive(self) -> bytes:
        """More of the request being read (the reader asks only mid-request): raises
        :class:`_Expired` past its deadline."""
        with trio.move_on_at(self._deadline):
            return await receive(self._sock)
        raise _Expired

    async def _send_all(self, data: bytes) -> None:
        try:
            await send_all(self._sock, data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _ClientGone from exc

    async def _send(self, response: Response, *, close: bool = False) -> None:
        headers = [_SERVER_HEADER]
        body = b""
        if response.status not in (204, 304):
            body = response.body
            headers.append(("content-length", str(len(body))))
            if response.content_type is not None:
                headers.append(("content-type", response.content_type))
        if close:
            headers.append(("connection", "close"))
        await self._send_all(
            encode_response(response.status, reason_phrase(response.status), headers, body)
        )

    async def _refuse(self, error: HTTPError) -> None:
        """Answer a request that will not be handled (nothing of an answer was sent yet),
        and see that the client can read the answer before the connection closes.

        Closing a socket with unread bytes makes the kernel reset the connection, which
        can destroy the answer on its way: so the server stops writing and reads on,
        discarding, until the client closes too. A client that does neither holds the
        connection for :data:`_CLOSING_S` at most.
        """
        with trio.move_on_after(_CLOSING_S), contextlib.suppress(_ClientGone, OSError):
            await self._send(error.to_response(), close=True)
            self._sock.shutdown(socket.SHUT_WR)
            discarded = 0
            while discarded < _CLOSING_BYTES:
                data = await receive(self._sock)
                if not data:
                    break
                discarded += len(data)


_CLOSING_S = 2.0
"""The longest a refused client may keep its connection open after the answer."""
_CLOSING_BYTES = 1024 * 1024
"""The most the server reads and discards from a refused client before closing anyway."""


def _describe(head: RequestHead) -> str:
    return f"{head.method} {head.target[:200]}"
