"""WAL checkpoints on a thread of their own, so the event loop never waits for one.

In WAL mode every commit appends pages to the ``-wal`` file, and by default the commit
that takes it past 1,000 pages also copies them back into the database file and syncs
it: 8-16 ms on the benchmark machine, growing with the database, about ten times a
second under load, with the event loop (every request) stopped meanwhile. Those stalls
were most of the server's slow answers: p99 commit 14.6 ms with them, 0.6 ms without.

:class:`Checkpointer` turns that off on the server's connection and instead runs a
``PASSIVE`` checkpoint on a second connection, in a worker thread, at most every
:data:`CHECKPOINT_EVERY_S` while there are commits. A passive checkpoint never blocks
the writer (commits go on appending meanwhile), SQLite restarts the WAL from its start
once everything in it has been copied, and durability is unchanged: a commit is durable
once it is in the WAL, as before. Where the second connection cannot be opened the
server keeps SQLite's own checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3

import trio

log = logging.getLogger("user_agent_sdk.server")

CHECKPOINT_EVERY_S = 0.25
"""The least time between two checkpoints: about as many pages per checkpoint as
SQLite's own (1,000) at 3,000 tasks/s, in a WAL that stays small."""
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000


class Checkpointer:
    """Checkpoints the WAL of the database at ``path``, whose event-loop connection is
    ``main``, after commits (:meth:`committed`), until cancelled."""

    def __init__(self, path: str, main: sqlite3.Connection) -> None:
        self._path = path
        self._main = main
        self._committed = trio.Event()
        self.checkpoints = 0
        """Checkpoints run so far (for tests and diagnostics)."""

    def committed(self) -> None:
        """A transaction was committed: a checkpoint is due (soon, not at once)."""
        self._committed.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Checkpoint after commits until cancelled; a checkpoint under way when the
        cancellation comes is finished first (it takes milliseconds)."""
        try:
            # check_same_thread=False: each checkpoint may run on another worker thread,
            # one at a time (this task awaits each).
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
                self._committed = trio.Event()
                await trio.to_thread.run_sync(self._checkpoint, own)
                await trio.sleep(CHECKPOINT_EVERY_S)
        finally:
            self._main.execute(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_AUTOCHECKPOINT}")
            own.close()

    def _checkpoint(self, own: sqlite3.Connection) -> None:
        try:
            own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # Nothing is lost: the pages stay in the WAL for the next checkpoint.
            log.warning("%s: a WAL checkpoint failed: %s", self._path, exc)
        else:
            self.checkpoints += 1
