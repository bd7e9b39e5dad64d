"""The engine's deadline timer: one task that runs whatever falls due, on time.

Deadlines are leases running out and delayed tasks (a retry delay,
``callbackAfterSeconds``) appearing in their queue. The timer sleeps until the earliest
one the database holds, or until it is told of an earlier one (:meth:`DeadlineTimer.wake_by`),
then has the engine do what fell due.

On cancellation it stops between two rounds, or within one: what a round has written is
committed or not as a whole write (the group commit finishes its batch), so a lease is
never half expired. A round that fails on the database (locked, full) is tried again a
second later, so the timer outlives a bad moment of the disk.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Awaitable, Callable

import trio

from ._commits import CommitFailed

log = logging.getLogger("user_agent_sdk.server")

RETRY_AFTER_MS = 1000
"""How soon a round that failed on the database is tried again."""

DueWork = Callable[[int, int], Awaitable[int | None]]
"""``work(since, now)``: do what fell due in ``(since, now]`` (epoch ms); returns the next
deadline after ``now``, None for none."""


class DeadlineTimer:
    """Runs ``work`` whenever a deadline falls due by ``clock`` (epoch ms); one per engine."""

    def __init__(self, clock: Callable[[], int], work: DueWork) -> None:
        self._clock = clock
        self._work = work
        self._kick = trio.Event()
        self._due: float = math.inf

    def wake_by(self, due: int) -> None:
        """Something falls due at ``due`` (epoch ms): run by then at the latest."""
        if due < self._due:
            self._due = due
            self._kick.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run due work on time until cancelled (start it with ``nursery.start``)."""
        task_status.started()
        done_until = -1
        while True:
            now = self._clock()
            try:
                due = await self._work(done_until, now)
                done_until = now
            except (sqlite3.Error, CommitFailed) as exc:
                # A locked or full database must not stop the server; try again shortly.
                log.error("timers: %s; retrying in 1 s", exc)  # noqa: TRY400
                due = now + RETRY_AFTER_MS
            self._due = math.inf if due is None else due
            self._kick = trio.Event()
            with trio.move_on_after(math.inf if due is None else (due - now) / 1000):
                await self._kick.wait()
