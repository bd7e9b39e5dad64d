"""A small HTTP/1.1 server on trio.

It does what the embedded task server needs and no more: keep-alive connections,
``Content-Length`` and chunked request bodies with a size limit, and one handler
coroutine per request. A handler answers with a :class:`Response`, or raises
:class:`HTTPError` for a client mistake; anything else it raises becomes a 500 whose
body never carries a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import trio

from .._http1 import (
    MessageReader,
    PeerClosed,
    ProtocolError,
    encode_response,
    keep_alive,
    parse_request_head,
    read_body,
    request_framing,
)
from .._nonblocking import READ_SIZE, receive, send_all

log = logging.getLogger("user_agent_sdk.server")

_SERVER_HEADER = ("server", "useragent-server")


@attrs.frozen
class Request:
    """One HTTP request, fully read."""

    method: str
    path: str
    """The raw (still percent-encoded) path, without the query string."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case; a repeated header keeps its last value."""
    body: bytes
    client: str

    def query_value(self, name: str) -> str | None:
        """The last value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[-1] if values else None


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""Shared: json.dumps with any option set builds a new encoder on every call."""


@attrs.frozen
class Response:
    """What a handler answers."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    on_undelivered: Callable[[], None] | None = attrs.field(default=None, eq=False, repr=False)
    """Called if the response could not be sent (e.g. to give polled tasks back)."""

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        """A JSON body (compact, UTF-8)."""
        return cls(status, _ENCODER.encode(data).encode(), "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        """A ``text/plain`` body."""
        return cls(status, text.encode(), "text/plain; charset=utf-8")

    @classmethod
    def no_content(cls) -> Response:
        """204: nothing to answer (an empty poll, an unknown task)."""
        return cls(204)


class HTTPError(Exception):
    """A request the server refuses; ``message`` is shown to the client and logged."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        """``code`` goes into the body's ``error`` field (default: the status's reason)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _reason(status)

    def to_response(self) -> Response:
        return Response.json(
            {"status": self.status, "message": self.message, "error": self.code},
            status=self.status,
        )


Handler = Callable[[Request], Awaitable[Response]]


@attrs.frozen
class HTTPLimits:
    """Per-connection limits."""

    max_body_bytes: int = 10 * 1024 * 1024
    idle_timeout: float = 600.0
    """Seconds a keep-alive connection may sit between requests before it is closed."""


def _always(request: Request) -> bool:
    return True


async def serve_http(
    handler: Handler,
    host: str,
    port: int,
    limits: HTTPLimits = HTTPLimits(),
    *,
    may_wait: Callable[[Request], bool] = _always,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``handler`` on ``host:port`` until cancelled.

    ``task_status.started`` receives the bound port once connections are accepted
    (``port=0`` picks a free one). ``may_wait`` tells which requests can take a while
    (long polls): while those run, the connection watches for the client hanging up
    and cancels the handler if it does. On cancellation every connection is closed;
    requests in progress are abandoned.
    """
    listener = _listen(host, port)
    with listener:
        async with trio.open_nursery() as nursery:
            task_status.started(listener.getsockname()[1])
            while True:
                try:
                    sock, peer = listener.accept()
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(listener)
                    continue
                except OSError as exc:  # out of file descriptors, most likely
                    log.warning("cannot accept a connection: %s", exc)
                    await trio.sleep(0.1)
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection = _Connection(sock, f"{peer[0]}:{peer[1]}", handler, limits, may_wait)
                nursery.start_soon(connection.serve)


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(1024)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


class _ClientGone(Exception):
    pass


class _Connection:
    """One client connection: requests are read and answered one at a time.

    It works on a non-blocking socket and only waits (``wait_readable`` /
    ``wait_writable``) when the bytes are not there yet: a request that has fully
    arrived is parsed, handled and answered without extra trips through trio's
    scheduler, which is most of the cost of a small request. Framing is
    :mod:`user_agent_sdk._http1`'s.
    """

    def __init__(
        self,
        sock: socket.socket,
        client: str,
        handler: Handler,
        limits: HTTPLimits,
        may_wait: Callable[[Request], bool],
    ) -> None:
        self._sock = sock
        self._client = client
        self._handler = handler
        self._limits = limits
        self._may_wait = may_wait
        self._reader = MessageReader(self._receive)

    async def serve(self) -> None:
        try:
            while await self._serve_one():
                # One checkpoint per request keeps a busy client from starving the others.
                await trio.lowlevel.checkpoint()
        except (_ClientGone, ConnectionError, PeerClosed):
            pass  # the client went away; nothing to answer
        except ProtocolError as exc:
            log.warning("%d bad HTTP from %s: %s", exc.status, self._client, exc)
            await self._try_send_error(HTTPError(exc.status, str(exc)))
        finally:
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()

    async def _serve_one(self) -> bool:
        """Read one request and answer it; False once the connection must close."""
        data: bytes | None = None
        with trio.move_on_after(self._limits.idle_timeout):
            data = await self._reader.read_head()
        if data is None:
            return False  # idle too long, or the client closed the connection
        head = parse_request_head(data)
        if head.headers.get("expect", "").lower() == "100-continue":
            framing = request_framing(head)
            if framing.length is None or framing.length <= self._limits.max_body_bytes:
                await self._send_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = await read_body(self._reader, request_framing(head), self._limits.max_body_bytes)
        except ProtocolError as exc:
            if exc.status != 413:
                raise
            error = HTTPError(
                413, f"request body exceeds the limit of {self._limits.max_body_bytes} bytes"
            )
            log.warning(
                "413 %s %s from %s: %s", head.method, head.target[:200], self._client, error.message
            )
            await self._send(error.to_response(), close=True)
            return False
        target = urlsplit(head.target)
        request = Request(
            method=head.method,
            path=target.path,
            query=parse_qs(target.query, keep_blank_values=True),
            headers=head.headers,
            body=body,
            client=self._client,
        )
        if self._may_wait(request):
            response = await self._respond_while_connected(request)
        else:
            response = await self._respond(request)
        if response is None:
            return False  # the client hung up; the handler was cancelled
        reuse = keep_alive(head.version, head.headers)
        try:
            await self._send(response, close=not reuse)
        except (_ClientGone, ConnectionError):
            if response.on_undelivered is not None:
                response.on_undelivered()
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%d %s %s (%s)", response.status, request.method, request.path, self._client)
        return reuse

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
        while True:
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
        return await receive(self._sock)

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
            encode_response(response.status, _reason(response.status), headers, body)
        )

    async def _try_send_error(self, error: HTTPError) -> None:
        """Answer a request that could not be read (nothing of an answer was sent yet)."""
        with contextlib.suppress(_ClientGone, ConnectionError):
            await self._send(error.to_response(), close=True)


def _reason(status: int) -> str:
    return {
        200: "OK",
        204: "No Content",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        413: "Payload Too Large",
        431: "Request Header Fields Too Large",
        500: "Internal Server Error",
        501: "Not Implemented",
    }.get(status, "Error")
