"""Group commit: the writes that arrive together share one SQLite transaction.

A commit costs several times the work of a typical write (it appends the changed pages
to the WAL), so committing once per request caps the server at a few thousand writes
per second. Instead each write runs at once inside a savepoint of the open
transaction, and its caller resumes only after that transaction has committed. The
committer commits as soon as every task that was ready has had its turn, so under load
one commit serves every request of the same scheduler pass, and an idle server adds no
delay beyond one pass.

What a caller can rely on: when :meth:`GroupCommit.write` returns, the write is
durable (it survives ``kill -9``). A write that raises is rolled back alone. Waiting for
the commit is shielded from cancellation: a request whose write was applied always gets
its answer computed, so a poll that leased tasks can hand them back if the answer
cannot be delivered. When :meth:`GroupCommit.run` is cancelled it commits the open
batch first, so every write that was applied is committed (or, if that commit fails,
every waiting writer gets :class:`CommitFailed`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

import trio

from .._errors import UserAgentError
from .._histogram import Histogram

log = logging.getLogger("user_agent_sdk.server")

T = TypeVar("T")


class CommitFailed(UserAgentError):
    """The shared transaction could not be committed; none of its writes happened."""


class _Batch:
    def __init__(self) -> None:
        self.committed = trio.Event()
        self.error: BaseException | None = None


class GroupCommit:
    """Runs writes on one connection in shared transactions; one per database."""

    def __init__(
        self,
        db: sqlite3.Connection,
        after_commit: Callable[[], None] | None = None,
        commit_time: Histogram | None = None,
    ) -> None:
        """``after_commit``: called (on trio's thread) after each successful commit;
        ``commit_time`` observes how long each commit took, in seconds."""
        self._commit_time = Histogram(()) if commit_time is None else commit_time
        self._db = db
        self._after_commit = after_commit
        self._batch: _Batch | None = None
        self._pending = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Commit open batches until cancelled; on cancellation the last one is committed."""
        task_status.started()
        try:
            while True:
                await self._pending.wait()
                # Let every task that is ready run first: their writes join this batch.
                await trio.lowlevel.checkpoint()
                self._commit()
        finally:
            self._commit()

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Apply ``fn`` now; return its result once it is committed."""
        batch, result = self._apply(fn)
        with trio.CancelScope(shield=True):
            await batch.committed.wait()
        if batch.error is not None:
            raise CommitFailed(str(batch.error)) from batch.error
        return result

    def write_nowait(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Apply ``fn`` now; it is committed with the current batch, unwaited."""
        return self._apply(fn)[1]

    def _apply(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[_Batch, T]:
        if self._batch is None:
            self._db.execute("BEGIN IMMEDIATE")
            self._batch = _Batch()
            self._pending.set()
        self._db.execute("SAVEPOINT write")
        try:
            result = fn(self._db)
        except BaseException:
            self._db.execute("ROLLBACK TO write")
            self._db.execute("RELEASE write")
            raise
        self._db.execute("RELEASE write")
        return self._batch, result

    def _commit(self) -> None:
        batch, self._batch = self._batch, None
        self._pending = trio.Event()
        if batch is None:
            return
        started = time.perf_counter()
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error(  # noqa: TRY400 - one line; the cause is in the message
                "could not commit to the database, its writes are lost: %s", exc
            )
            batch.error = exc
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        else:
            self._commit_time.observe(time.perf_counter() - started)
            if self._after_commit is not None:
                self._after_commit()
        batch.committed.set()
