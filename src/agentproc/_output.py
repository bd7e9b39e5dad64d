"""Where an agent's protocol stream goes: the sinks, and wire 0.4's event writer.

Wire 0.4 has no rule like 0.1's "nothing after an error" and its agents expect each event
to be on stdout when the call that sends it returns, awaited or not: :class:`EventWriter`
writes each event at call time, whole, under a lock. Wire 0.1's writer task is
:class:`agentproc._stdout_writer.StdoutWriter`. Nothing here needs trio unless a
non-blocking stdout makes an async write wait.
"""

from __future__ import annotations

import os
import select
import threading
from typing import Protocol, runtime_checkable


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
                import trio

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
