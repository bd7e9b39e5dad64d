"""Socket I/O on trio for non-blocking stdlib sockets: the system call first, a wait only
when it would block.

Both ends of the hot path use it (the server's connections, the client's plain
connections): a message that is already there is read, or one that fits the socket's
buffer is written, without a trip through trio's scheduler, which is most of the cost of
a small request. Cancellation can only happen while waiting, never mid-call.
"""

from __future__ import annotations

import socket

import trio

READ_SIZE = 64 * 1024


async def receive(sock: socket.socket) -> bytes:
    """The next bytes the peer sent; ``b""`` once it closed or reset the connection."""
    while True:
        try:
            return sock.recv(READ_SIZE)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(sock)
        except ConnectionError:
            return b""


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write all of ``data``; :class:`OSError` (``BrokenPipeError``...) if the peer is gone."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        view = view[sent:]
