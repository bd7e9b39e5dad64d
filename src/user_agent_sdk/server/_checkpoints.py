"""WAL checkpoints copied on a thread of their own, so the event loop seldom waits for one.

In WAL mode every commit appends pages to the ``-wal`` file, and by default the commit
that takes it past 1,000 pages also copies them back into the database file and syncs
it, with the event loop (every request) stopped meanwhile.

:class:`Checkpointer` turns that off on the server's connection. At most every
:data:`CHECKPOINT_EVERY_S` while there are commits, it copies the WAL with ``PASSIVE``
checkpoints on a second connection, in a worker thread, which never block the writer.
A checkpoint that runs beside the writer cannot finish, though: commits append while it
copies, and SQLite starts the WAL over only once every page in it has been copied. So
the thread copies again until a pass finds few new pages (copying outruns writing), and
then the server's own connection copies the rest right after its next commit, when no
write can run: that checkpoint completes, and the next transaction starts the WAL over.
The event loop waits only for that short remainder. Durability is unchanged: a commit is
durable once it is in the WAL, as before. Where the second connection cannot be opened,
SQLite's own checkpoints stay.

On cancellation a pass under way on the thread is finished first; then SQLite's own
checkpoints are turned back on for the server's connection and the second connection is
closed. Nothing is lost either way: pages not yet copied stay in the WAL.
"""

from __future__ import annotations

import logging
import sqlite3

import trio

log = logging.getLogger("user_agent_sdk.server")

CHECKPOINT_EVERY_S = 0.25
"""The least time between two rounds of checkpoints."""
FEW_PAGES = 200
"""A thread pass that found at most this many new pages hands the rest to the server's
connection (a few milliseconds of copying)."""
MAX_PASSES = 4
"""Thread passes per round at most; the server's connection then copies what is left
whatever its size, so the WAL starts over every round even under the heaviest load."""
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000


class Checkpointer:
    """Checkpoints the WAL of the database at ``path``, whose event-loop connection is
    ``main``, after commits, until cancelled. :meth:`committed` must be called (on the
    event loop's thread) right after each commit on ``main``."""

    def __init__(self, path: str, main: sqlite3.Connection) -> None:
        self._path = path
        self._main = main
        self._committed = trio.Event()
        self._finish_due = False
        self._finished = trio.Event()
        self.rounds = 0
        """Rounds completed (the WAL was copied whole and starts over): for tests."""

    def committed(self) -> None:
        """A transaction was just committed on ``main`` and none is open: finish a round
        whose thread passes are done, and note that a round is due."""
        if self._finish_due:
            self._finish_due = False
            self._checkpoint(self._main)
            self._finished.set()
        self._committed.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Checkpoint after commits until cancelled; a pass under way when the
        cancellation comes is finished first (it takes milliseconds)."""
        try:
            # check_same_thread=False: each pass may run on another worker thread, one
            # at a time (this task awaits each).
            own = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=5
            )
        except sqlite3.Error as exc:
            log.warning("%s: checkpoints stay with SQLite (%s)", self._path, exc)
            task_status.started()
            return
        self._main.execute("PRAGMA wal_autocheckpoint=0")
        try:
            task_status.started()
            while True:
                await self._committed.wait()
                await self._round(own)
                await trio.sleep(CHECKPOINT_EVERY_S)
        finally:
            self._finish_due = False
            self._main.execute(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_AUTOCHECKPOINT}")
            own.close()

    async def _round(self, own: sqlite3.Connection) -> None:
        copied_to = 0
        for _ in range(MAX_PASSES):
            self._committed = trio.Event()
            wal_pages = await trio.to_thread.run_sync(self._checkpoint, own)
            if wal_pages - copied_to <= FEW_PAGES:
                break
            copied_to = wal_pages
        # The rest goes with the next commit (committed()), on the writer's connection.
        self._finished = trio.Event()
        self._finish_due = True
        await self._finished.wait()
        self.rounds += 1

    def _checkpoint(self, db: sqlite3.Connection) -> int:
        """One PASSIVE checkpoint; the pages in the WAL when it began (0 if it failed)."""
        try:
            busy, wal_pages, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # Nothing is lost: the pages stay in the WAL for the next checkpoint.
            log.warning("%s: a WAL checkpoint failed: %s", self._path, exc)
            return 0
        return int(wal_pages) if not busy else 0
