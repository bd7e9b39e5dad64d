"""``useragent run -r``: the writer task that owns the history's connection.

The runtime calls the recorder in its trio thread for each finished task; the record goes
onto an unbounded memory channel (``send_nowait`` never blocks and never refuses), and
one writer task takes what has gathered and appends it in one transaction on a worker
thread, so neither the event loop nor a task ever waits for the disk.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from os import PathLike
from pathlib import Path

import trio

from ..runtime import ExecutionRecord
from ._errors import HistoryError
from ._store import DEFAULT_DB_PATH, HistoryStore

log = logging.getLogger("user_agent_sdk.history")

BATCH_WINDOW_S = 0.25
"""After the first record of a batch, how long the writer lets more gather: one
transaction and one thread hop for many tasks (SQLite's cost per row halves from batches
of 10 to batches of a few hundred). Rows reach the disk this much later; a stop waits for
no window."""
RETRY_S = 1.0
"""While the database cannot be written (locked, disk full), how often to try again."""
MAX_PENDING = 100_000
"""Records kept in memory while the database cannot be written; beyond, the oldest go."""


class HistoryRecorder:
    """The :class:`~user_agent_sdk.runtime.ExecutionObserver` that ``-r`` attaches.

    Calling it never blocks and never raises; the record is written shortly after by the
    writer task of :func:`record_history`.
    """

    def __init__(self, writer: _Writer, send: trio.MemorySendChannel[ExecutionRecord]) -> None:
        self._writer = writer
        self._send = send

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def written(self) -> int:
        """Rows committed to the database so far."""
        return self._writer.written

    def __call__(self, record: ExecutionRecord, /) -> None:
        try:
            self._send.send_nowait(record)
        except trio.ClosedResourceError:
            log.warning(
                "execution history: task %s finished after the history closed; not recorded",
                record.task_id,
            )


@asynccontextmanager
async def record_history(
    path: str | PathLike[str] = DEFAULT_DB_PATH,
) -> AsyncIterator[HistoryRecorder]:
    """Record into the history at ``path`` (created 0600, or migrated) while the block runs.

    Pass the recorder as the runtime's ``observer``; the writer task lives in this block's
    nursery, so put the block around the runtime's::

        async with record_history("execution_history.db") as recorder:
            async with trio.open_nursery() as nursery:
                await nursery.start(functools.partial(serve, observer=recorder), settings, agents)

    On exit, by any route (an exception, a cancellation too), every record handed over
    before is written before the block returns. A database that cannot be written (a
    locked file, a full disk) never fails a task: one warning, the rows wait in memory
    and are retried. Raises :class:`HistoryError` on entry when the file cannot be used
    (missing folder, not a history, written by a newer version).
    """
    send, receive = trio.open_memory_channel[ExecutionRecord](math.inf)
    writer = _Writer(Path(path), receive)
    await writer.open()  # a HistoryError comes out here, on its own, before any task runs
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)  # from here on, the writer task owns the connection
        try:
            yield HistoryRecorder(writer, send)
        finally:
            send.close()  # the writer drains what is left and closes the database
            writer.closing.set()


class _Writer:
    def __init__(self, path: Path, receive: trio.MemoryReceiveChannel[ExecutionRecord]) -> None:
        self.path = path
        self.written = 0
        self._receive = receive
        self._store: HistoryStore | None = None
        self._pending: list[ExecutionRecord] = []
        self._closed = False
        self.closing = trio.Event()
        """Set when no more records will come: the current window ends at once."""
        self._failing = False
        self._dropped = 0
        # One thread at a time uses the connection: the writer awaits each call, and the
        # limiter says so to anyone who reads only this line.
        self._thread = trio.CapacityLimiter(1)

    async def open(self) -> None:
        try:
            await self._in_thread(self._open)
        except sqlite3.OperationalError as exc:
            self._failed(exc)  # locked or full for now: tasks run, rows wait

    async def run(self) -> None:
        try:
            while not self._closed:
                if not self._pending:
                    try:
                        self._pending.append(await self._receive.receive())
                    except trio.EndOfChannel:
                        break
                    with trio.move_on_after(BATCH_WINDOW_S):
                        await self.closing.wait()
                self._gather()
                if not await self._write() and not self._closed:
                    with trio.move_on_after(RETRY_S):
                        await self.closing.wait()
        finally:
            # Bounded by the database's busy timeout: the last rows get their chance
            # even when the block is cancelled.
            with trio.CancelScope(shield=True):
                await self._finish()

    def _gather(self) -> None:
        while True:
            try:
                self._pending.append(self._receive.receive_nowait())
            except trio.WouldBlock:
                break
            except trio.EndOfChannel:
                self._closed = True
                break
        excess = len(self._pending) - MAX_PENDING
        if excess > 0:
            del self._pending[:excess]
            self._dropped += excess

    async def _write(self) -> bool:
        batch = self._pending[:]
        try:
            await self._in_thread(self._append, batch)
        except (sqlite3.Error, OSError, HistoryError) as exc:
            self._failed(exc)
            return False
        del self._pending[: len(batch)]
        self.written += len(batch)
        if self._failing:
            self._failing = False
            log.info("execution history: writing to %s again", self.path)
        return True

    async def _finish(self) -> None:
        self._gather()
        if self._pending:
            await self._write()
        if self._pending or self._dropped:
            log.warning(
                "execution history: %d executions could not be written to %s",
                len(self._pending) + self._dropped,
                self.path,
            )
        if self._store is not None:
            await self._in_thread(self._store.close)
        log.info("execution history: %d executions recorded in %s", self.written, self.path)

    def _failed(self, exc: BaseException) -> None:
        if self._failing:
            log.debug("execution history: still cannot write to %s: %s", self.path, exc)
            return
        self._failing = True
        log.warning(
            "execution history: cannot write to %s (%s); tasks go on, and their rows wait "
            "in memory and are retried every %g s",
            self.path,
            exc,
            RETRY_S,
        )

    # -- on the writer's thread -----------------------------------------------------------

    async def _in_thread(self, function: Callable[..., object], *args: object) -> None:
        await trio.to_thread.run_sync(function, *args, limiter=self._thread)

    def _open(self) -> None:
        if self._store is None:
            self._store = HistoryStore.open(self.path, create=True)

    def _append(self, batch: list[ExecutionRecord]) -> None:
        self._open()
        assert self._store is not None
        self._store.record(batch)
