"""The stdout writer: the one task that writes an agent's protocol stream.

Wire 0.1: partials, the error, the session line and the body are all messages to this
task, sent over a memory channel, so lines from concurrent tasks and threads never
interleave and the rule "nothing after an error" is enforced in one place.

Wire 0.4 has no such rule (an error is not terminal) and its agents expect each event to be
on stdout when the call that sends it returns, awaited or not: :class:`EventWriter` writes
each event at call time, whole, under a lock.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import trio

from agentproc import _wire


class Sink(Protocol):
    """Where the writer puts bytes: fd 1 in an agent process, a buffer in tests."""

    async def write(self, data: bytes) -> None:
        """Write all of ``data``; raise ``OSError`` when the reader is gone."""


@runtime_checkable
class BlockingSink(Protocol):
    """A sink that can also write from any thread, blocking it (wire 0.4's events)."""

    def write_now(self, data: bytes) -> None:
        """Write all of ``data`` before returning; raise ``OSError`` when the reader is gone."""


class FdSink:
    """Writes straight to a file descriptor, with no buffer of its own.

    Writes block the event loop while the pipe is full, as ``print`` would: a thread hop
    per write would cost more than the write, and setting ``O_NONBLOCK`` would change the
    file description that the parent process shares. When the descriptor is already
    non-blocking, the writer waits for it to become writable instead.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self._fd)
                continue
            view = view[written:]

    def write_now(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                select.select([], [self._fd], [])
                continue
            view = view[written:]


class BufferSink:
    """Collects everything written, for the in-process test helper."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, data: bytes) -> None:
        self.data += data

    def write_now(self, data: bytes) -> None:
        self.data += data


class EventWriter:
    """Writes wire-0.4 event lines at call time, each whole, from any thread.

    After :meth:`close` (the turn is over) nothing more is written. A reader that closed
    the pipe stops the writing; :attr:`failure` holds the error and the turn reports it.
    """

    def __init__(self, sink: BlockingSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._closed = False
        self.failure: OSError | None = None

    def emit(self, data: bytes) -> None:
        """Write one encoded event (or several lines) now; returns once it is written."""
        with self._lock:
            if self._closed or self.failure is not None:
                return
            try:
                self._sink.write_now(data)
            except OSError as exc:
                self.failure = exc

    def close(self) -> None:
        with self._lock:
            self._closed = True


class _Chunk:
    __slots__ = ("data", "terminal", "written")

    def __init__(self, data: bytes, *, terminal: bool) -> None:
        self.data = data
        self.terminal = terminal
        self.written = False  # written, or dropped because an error came first


class StdoutWriter:
    """Owns the protocol stream of one turn; start :meth:`run` in a nursery before sending.

    Every ``send_*`` method returns once its line has been handed to the sink (written to
    the stdout pipe), so a partial is out before the handler goes on. If such a call is
    cancelled, its line is written in full or not at all, never in part. After
    :meth:`send_error`, everything else is dropped: the writer, not the callers, decides
    the order, so the rule holds for concurrent senders too.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        # Capacity 0: a sender waits for the writer, so there is no queue to lose on exit.
        self._send, self._receive = trio.open_memory_channel[_Chunk](0)
        self._progress = trio.lowlevel.ParkingLot()
        self._error_sent = False
        self._token: trio.lowlevel.TrioToken | None = None
        self.failure: OSError | None = None
        """The error that stopped the writing (the reader closed the pipe), if any."""

    @property
    def error_sent(self) -> bool:
        """True once an error line was accepted: the turn has failed, the rest is dropped."""
        return self._error_sent

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write lines as they arrive until :meth:`close`; ready when ``nursery.start`` returns."""
        self._token = trio.lowlevel.current_trio_token()
        task_status.started()
        ended = False
        async with self._receive:
            async for chunk in self._receive:
                batch = [chunk, *self._ready_chunks()]
                data = []
                for item in batch:
                    if not ended:
                        data.append(item.data)
                        ended = item.terminal
                    item.written = True
                await self._write(b"".join(data))
                self._progress.unpark_all()

    def _ready_chunks(self) -> list[_Chunk]:
        # Senders that queued up while the last write ran go out in one write.
        ready = []
        while True:
            try:
                ready.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return ready

    async def _write(self, data: bytes) -> None:
        if not data or self.failure is not None:
            return
        try:
            await self._sink.write(data)
        except OSError as exc:
            # Keep draining the channel so that senders are released; nothing more is
            # written, and the turn reports the failure when it ends.
            self.failure = exc

    def close(self) -> None:
        """No more lines: :meth:`run` returns once it has written what it accepted."""
        self._send.close()

    async def send_partial(self, text: str) -> None:
        """Write one ``AGENT_PARTIAL:`` line; empty text sends nothing."""
        if text:
            await self._put(_wire.encode_partial(text), terminal=False)
        else:
            await trio.lowlevel.checkpoint()

    async def send_error(self, text: str) -> None:
        """Write one ``AGENT_ERROR:`` line, the last line of the turn."""
        await self._put(_wire.encode_error(text), terminal=True)

    async def send_reply(self, session_id: str, body: str) -> None:
        """Write the session line (when ``session_id`` is set) and the reply body."""
        head = _wire.encode_session(session_id) if session_id else b""
        await self._put(head + _wire.encode_body(body), terminal=False)

    async def _put(self, data: bytes, *, terminal: bool) -> None:
        # A dropped line still yields: a task that loops on send_partial after an error
        # must not starve the rest of the handler.
        if self._error_sent:
            await trio.lowlevel.checkpoint()
            return
        if terminal:
            self._error_sent = True
        chunk = _Chunk(data, terminal=terminal)
        try:
            await self._send.send(chunk)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            # The turn is over (a thread outlived it): nothing more goes out.
            await trio.lowlevel.checkpoint()
            return
        while not chunk.written:
            await self._progress.park()

    def call_from_thread(self, send: Callable[[str], Awaitable[None]], text: str) -> None:
        """Run one ``send_*`` method from a worker thread, returning once it has finished."""
        if self._token is None:
            raise RuntimeError("the stdout writer is not running yet")
        # RunFinishedError: the process is exiting, and the line can no longer be written.
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run(send, text, trio_token=self._token)
