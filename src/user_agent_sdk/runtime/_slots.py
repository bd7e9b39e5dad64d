"""Idle worker slots: a task is polled only when a slot can take it."""

from __future__ import annotations

import trio


class Slots:
    """A count of idle slots that the poller takes before polling and tasks give back.

    Not a semaphore: the poller takes *every* idle slot at once (it asks the server for
    exactly that many tasks) and gives back those the answer did not fill.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.idle = total
        self._freed = trio.Event()

    @property
    def busy(self) -> int:
        return self.total - self.idle

    async def wait_idle(self) -> int:
        """Wait until at least one slot is idle; returns how many are."""
        while self.idle <= 0:
            if self._freed.is_set():
                self._freed = trio.Event()
            await self._freed.wait()
        return self.idle

    def take(self, count: int) -> None:
        self.idle -= count

    def give(self, count: int) -> None:
        self.idle += count
        if count > 0:
            self._freed.set()
