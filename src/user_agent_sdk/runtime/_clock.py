"""A trio clock whose deadlines wake the event loop on time.

trio waits for I/O with epoll on Linux, and epoll's timeout is whole milliseconds
rounded up: a handler that awaits ``trio.sleep(0.01)`` resumes 10-12 ms later (median
lateness ~1.1 ms on the benchmark machine), and so does every ``move_on_after`` and
lease-renewal deadline. At 32 slots of 10 ms handlers that lateness alone costs a tenth
of the throughput.

:class:`PreciseClock` is trio's system clock plus a Linux ``timerfd`` (nanosecond
resolution) armed for the loop's next deadline each time the loop is about to wait. A
system task keeps the fd in trio's epoll set, so the wait ends when the timer fires
(the kernel's timer slack, ~50 us, plus the machine's wake-up latency: ~0.2 ms on the
benchmark VM, the same as for ``time.sleep``) instead of at epoll's rounded timeout.
Nothing else changes: deadlines still never fire early, and epoll's own timeout stays as
a fallback, so a timer that failed to arm costs precision, never a wake-up.

:func:`run_with_precise_timers` is ``trio.run`` with this clock where the platform has
``timerfd`` (Linux), and plain ``trio.run`` elsewhere. ``useragent run`` uses it; a
program embedding the runtime can too, or keep its own ``trio.run``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, TypeVarTuple, Unpack

import trio

log = logging.getLogger(__name__)

T = TypeVar("T")
Args = TypeVarTuple("Args")

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1
_NS_PER_S = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class TimerFd:
    """A non-blocking Linux ``timerfd`` on ``CLOCK_MONOTONIC`` (the clock behind
    :func:`time.perf_counter` there), armed at absolute times in seconds."""

    def __init__(self, fd: int, settime: Callable[..., int]) -> None:
        self.fd = fd
        self._settime = settime
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)

    @classmethod
    def open(cls) -> TimerFd | None:
        """A new timer, or None where there is no timerfd (not Linux, no libc, or
        :func:`time.perf_counter` is not ``CLOCK_MONOTONIC``)."""
        if not sys.platform.startswith("linux"):
            return None
        if time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            create, settime = libc.timerfd_create, libc.timerfd_settime
        except (OSError, AttributeError):
            return None
        create.argtypes = [ctypes.c_int, ctypes.c_int]
        create.restype = ctypes.c_int
        settime.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.c_void_p,
        ]
        settime.restype = ctypes.c_int
        fd = create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            log.debug("timerfd_create failed: %s", os.strerror(ctypes.get_errno()))
            return None
        return cls(fd, settime)

    def arm(self, when: float) -> bool:
        """Fire once at ``when`` (seconds on ``CLOCK_MONOTONIC``), replacing any earlier
        setting; False if the kernel refused."""
        # Rounded up: the timer must not fire before the deadline it stands for.
        ns = math.ceil(when * _NS_PER_S)
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = divmod(ns, _NS_PER_S)
        return self._settime(self.fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) == 0

    def clear(self) -> None:
        """Consume a firing, so the fd stops being readable until the next one."""
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)

    def close(self) -> None:
        os.close(self.fd)


class PreciseClock(trio.abc.Clock):
    """trio's system clock; with :meth:`keep_loop_on_time` running, the loop's waits end
    at the next deadline rather than at epoll's millisecond-rounded timeout.

    Times are :func:`time.perf_counter` seconds (trio's system clock adds a random
    offset to expose code that compares them with other clocks; this one does not).
    """

    def __init__(self, timer: TimerFd) -> None:
        self._timer = timer
        self._armed_for = math.inf

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return time.perf_counter()

    def deadline_to_sleep_time(self, deadline: float) -> float:
        # Called by trio's loop just before it waits for I/O, with the next deadline.
        sleep = deadline - time.perf_counter()
        if sleep > 0 and deadline != self._armed_for and deadline != math.inf:
            self._armed_for = deadline if self._timer.arm(deadline) else math.inf
        return sleep

    async def keep_loop_on_time(self) -> None:
        """Keep the timer in trio's epoll set for the rest of the run: each firing wakes
        the loop (and this task, which consumes it). Runs until cancelled."""
        while True:
            await trio.lowlevel.wait_readable(self._timer.fd)
            self._timer.clear()
            self._armed_for = math.inf

    async def _main(self, async_fn: Callable[[Unpack[Args]], Awaitable[T]], *args: *Args) -> T:
        # A system task: cancelled by trio once the main task has returned.
        trio.lowlevel.spawn_system_task(self.keep_loop_on_time, name="precise timers")
        return await async_fn(*args)


def run_with_precise_timers(async_fn: Callable[[Unpack[Args]], Awaitable[T]], *args: *Args) -> T:
    """``trio.run(async_fn, *args)`` with a :class:`PreciseClock` where the platform has
    ``timerfd``, else plain ``trio.run``; returns or raises what ``async_fn`` does."""
    timer = TimerFd.open()
    if timer is None:
        return trio.run(async_fn, *args)
    clock = PreciseClock(timer)
    try:
        return trio.run(clock._main, async_fn, *args, clock=clock)
    finally:
        timer.close()
