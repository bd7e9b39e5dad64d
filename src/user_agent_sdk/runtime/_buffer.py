"""Leased tasks waiting for a worker slot, and the slots waiting for them."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import trio

from ..conductor import Task


class TaskBuffer:
    """A FIFO of tasks this worker has leased but not yet started.

    Slots wait in :meth:`get`; :meth:`put` wakes one per task. :meth:`close` (at a stop)
    takes the tasks still waiting and makes every :meth:`get` return None from then on.
    """

    def __init__(self) -> None:
        self._tasks: deque[Task] = deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self.waiting = 0
        """Slots waiting in :meth:`get` right now: idle slots."""

    def __len__(self) -> int:
        return len(self._tasks)

    async def get(self) -> Task | None:
        """The oldest task, waiting for one if need be; None once closed."""
        while not self._tasks:
            if self._closed:
                return None
            self.waiting += 1
            try:
                await self._lot.park()
            finally:
                self.waiting -= 1
        return self._tasks.popleft()

    def put(self, tasks: Iterable[Task]) -> None:
        """Add tasks (not after :meth:`close`: the caller hands those back instead)."""
        assert not self._closed
        before = len(self._tasks)
        self._tasks.extend(tasks)
        self._lot.unpark(count=len(self._tasks) - before)

    def close(self) -> list[Task]:
        """Stop handing out tasks; returns those that were waiting."""
        self._closed = True
        left = list(self._tasks)
        self._tasks.clear()
        self._lot.unpark_all()
        return left
