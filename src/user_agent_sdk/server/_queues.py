"""Waiting for work: long polls wait on their queue until work may have appeared there."""

from __future__ import annotations

import trio

Queue = tuple[str, str]
"""A queue is a task type and a domain ('' for none)."""


class QueueSignals:
    """One event per queue with a poll waiting, set when work becomes visible there.

    A wake-up says only that work may be there: the waiter tries to lease again, and
    another poll may have taken it first.
    """

    def __init__(self) -> None:
        self._waiters: dict[Queue, trio.Event] = {}

    async def wait(self, queue: Queue, deadline: float) -> None:
        """Until work is signalled in ``queue`` or trio's clock reaches ``deadline``."""
        event = self._waiters.setdefault(queue, trio.Event())
        with trio.move_on_at(deadline):
            await event.wait()

    def notify(self, queue: Queue) -> None:
        """Work became visible in ``queue``: wake every poll waiting on it."""
        event = self._waiters.pop(queue, None)
        if event is not None:
            event.set()
