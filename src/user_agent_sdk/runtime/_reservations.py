"""Tasks asked for by requests in flight, counted as held from the ask to the answer.

A poll, an update-v2 post or an update-batch request may each lease tasks. What they
ask for counts against the agent's room from the moment it is asked for, so that two
requests in flight never ask for the same idle slots; once a request has ended (its
tasks, if any, are in the buffer by then) its reservation is released.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType


class Reservations:
    """The reservations of one agent's requests; :attr:`total` is what they hold."""

    def __init__(self, released: Callable[[], None]) -> None:
        """``released`` is called after each release (the room for tasks grew)."""
        self.total = 0
        self._released = released

    def reserve(self, count: int) -> Reservation:
        """Hold ``count`` tasks until the returned reservation is released."""
        self.total += count
        return Reservation(self, count)


class Reservation:
    """``count`` tasks held for one request. :meth:`release` (or leaving a ``with``
    block) gives them back, once: releasing again does nothing, so a reservation handed
    to another task may be released wherever the request ends."""

    __slots__ = ("_held", "_owner", "count")

    def __init__(self, owner: Reservations, count: int) -> None:
        self._owner = owner
        self.count = count
        """What was reserved (it stays readable after the release)."""
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._owner.total -= self.count
            self._owner._released()

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
