"""Leased tasks waiting for a worker slot, and the slots waiting for them."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

import trio

from ..conductor import Task


class TaskBuffer:
    """A FIFO of tasks this worker has leased but not yet started.

    Slots wait in :meth:`get`; :meth:`put` wakes one per task. A sync handler's thread
    may also take the next task itself (:meth:`take_from_thread`), the one method safe to
    call off trio's thread; such a task counts as buffered until the slot acknowledges it.
    :meth:`close` (at a stop) takes the tasks still waiting and makes every :meth:`get`
    return None from then on.
    """

    def __init__(self) -> None:
        self._tasks: deque[Task] = deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._lock = threading.Lock()
        self._in_transit = 0
        """Taken by threads, not yet acknowledged by their slots (guarded by ``_lock``)."""
        self.waiting = 0
        """Slots waiting in :meth:`get` right now: idle slots."""

    def __len__(self) -> int:
        return len(self._tasks) + self._in_transit

    async def get(self) -> Task | None:
        """The oldest task, waiting for one if need be; None once closed."""
        while True:
            try:
                # popleft, not a check first: a thread may take the last task in between.
                return self._tasks.popleft()
            except IndexError:
                pass
            if self._closed:
                return None
            self.waiting += 1
            try:
                await self._lot.park()
            finally:
                self.waiting -= 1

    def take_from_thread(self) -> Task | None:
        """From any thread: the oldest task, or None if there is none or the buffer is
        closed. The caller's slot must :meth:`acknowledge` it once it knows of it."""
        if self._closed:
            return None
        with self._lock:
            try:
                task = self._tasks.popleft()
            except IndexError:
                return None
            self._in_transit += 1
        return task

    def acknowledge(self) -> None:
        """A task taken by :meth:`take_from_thread` has reached its slot."""
        with self._lock:
            self._in_transit -= 1

    def put(self, tasks: Iterable[Task]) -> None:
        """Add tasks (not after :meth:`close`: the caller hands those back instead)."""
        assert not self._closed
        added = list(tasks)
        self._tasks.extend(added)
        self._lot.unpark(count=len(added))

    def close(self) -> list[Task]:
        """Stop handing out tasks; returns those that were waiting."""
        self._closed = True
        left = []
        while True:
            try:  # one by one: a thread taking one at the same moment gets it, or we do
                left.append(self._tasks.popleft())
            except IndexError:
                break
        self._lot.unpark_all()
        return left
