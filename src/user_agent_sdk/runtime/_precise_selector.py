"""The epoll selector under the runtime's own asyncio loop on trio's thread, whose timed
waits end on time."""

from __future__ import annotations

import asyncio
import math
import selectors
import time

from ._clock import TimerFd


class PreciseSelector(selectors.EpollSelector):
    """epoll whose timed waits end on time: a ``timerfd`` in the set, armed for the
    wait's end (asyncio's own timeout is rounded up to whole milliseconds, so every
    ``asyncio.sleep`` would resume up to a millisecond late), or by :meth:`arm`. The
    timer closes with the selector."""

    def __init__(self, timer: TimerFd) -> None:
        super().__init__()
        self._timer = timer
        self._armed_for = math.inf
        self._stepping: asyncio.AbstractEventLoop | None = None
        self._selects = self._iterations = 0
        super().register(timer.fd, selectors.EVENT_READ)

    def arm(self, when: float) -> None:
        """Make the epoll fd readable at ``when`` (:func:`time.perf_counter` seconds)."""
        if when != self._armed_for:
            self._armed_for = when if self._timer.arm(when) else math.inf

    def run_without_waiting(self, loop: asyncio.AbstractEventLoop, iterations: int) -> None:
        """Run ``loop`` (whose selector this is) without waiting: its I/O (polled once)
        and timers are looked at, its ready callbacks run, and so on until an iteration
        after the first would have waited, at most ``iterations`` iterations. ``run_forever()``,
        stopped from here: the loop is running (its asyncio hooks set) only meanwhile."""
        self._stepping = loop
        self._selects = 0
        self._iterations = iterations
        try:
            loop.run_forever()
        finally:
            self._stepping = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._stepping is not None:
            self._selects += 1
            if (timeout != 0 and self._selects > 1) or self._selects >= self._iterations:
                # The loop would wait, or has run its share: this iteration is its last.
                self._stepping.stop()
            if self._selects > 1:
                # Polled at the step's start; what came since keeps the epoll fd
                # readable for the next step.
                return []
            timeout = 0
        elif timeout is not None and timeout > 0:
            self.arm(time.perf_counter() + timeout)
        ready = super().select(timeout)
        found = [(key, events) for key, events in ready if key.fd != self._timer.fd]
        if len(found) != len(ready):
            self._timer.clear()
            self._armed_for = math.inf
        return found

    def close(self) -> None:
        super().close()
        self._timer.close()


_SAME_CLOCK = all(
    time.get_clock_info(name).implementation == "clock_gettime(CLOCK_MONOTONIC)"
    for name in ("monotonic", "perf_counter")
)


def timer_time(when: float, loop: asyncio.AbstractEventLoop) -> float:
    """``when`` on ``loop.time()``'s clock, in :func:`time.perf_counter` seconds (not
    earlier)."""
    if _SAME_CLOCK and type(loop).time is asyncio.BaseEventLoop.time:
        return when
    return when - loop.time() + time.perf_counter()
