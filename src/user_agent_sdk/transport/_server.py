"""A small HTTP/1.1 server on trio: :func:`serve_http` accepts connections and hands
each to a :class:`~._connection.ServerConnection`.

It does what the embedded task server needs and no more: keep-alive connections,
``Content-Length`` and chunked request bodies with a size limit, and one handler
coroutine per request. A handler answers with a :class:`~._messages.Response`, or
raises :class:`~._messages.HTTPError` for a client mistake; anything else it raises
becomes a 500 whose body never carries a traceback.

No client can hold the server's resources for long without sending requests (see
:class:`~._limits.HTTPLimits`): a request must arrive in full within a time limit, an
idle connection is closed after a while, and past a number of open connections the
longest-idle one makes room for a new one.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Callable

import trio

from ._connection import OpenConnections, ServerConnection, Service
from ._limits import HTTPLimits, room_for_connections
from ._messages import Handler, Request

log = logging.getLogger("user_agent_sdk.server")


_DEFAULT_LIMITS = HTTPLimits()


def _always(request: Request) -> bool:
    return True


async def serve_http(
    handler: Handler,
    host: str,
    port: int,
    limits: HTTPLimits = _DEFAULT_LIMITS,
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
    room = room_for_connections()
    if room is not None and limits.max_connections > room:
        log.warning(
            "up to %d connections may be open, but the open-file limit leaves room for %d "
            "(see ulimit -n): past that, accepting fails",
            limits.max_connections,
            room,
        )
    listener = _listen(host, port)
    connections = OpenConnections(limits.max_connections)
    service = Service(handler, limits, may_wait, connections)
    accept_failed_at = -math.inf
    with listener:
        async with trio.open_nursery() as nursery:
            task_status.started(listener.getsockname()[1])
            while True:
                if connections.full():
                    # Only once someone is waiting to connect: idle connections are
                    # closed to make room, never ahead of need.
                    await trio.lowlevel.wait_readable(listener)
                    if not connections.close_longest_idle():
                        await connections.wait_for_room()
                        continue
                try:
                    sock, peer = listener.accept()
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(listener)
                    continue
                except OSError as exc:  # out of file descriptors, most likely
                    now = trio.current_time()
                    if now - accept_failed_at >= 60:  # one line a minute, not ten a second
                        accept_failed_at = now
                        log.warning("cannot accept a connection: %s (retrying)", exc)
                    await trio.sleep(0.1)
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection = ServerConnection(sock, f"{peer[0]}:{peer[1]}", service)
                connections.opened(connection)
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
