"""Running ``async def`` handlers written for asyncio from the trio runtime.

The runtime is a trio program; a handler written for asyncio (``asyncio.sleep``,
aiohttp, asyncpg, most LLM tool kits) needs a running asyncio event loop. Each call
becomes an asyncio task on an :class:`AsyncioLoop`: the loop of the asyncio program that
embeds the runtime (:func:`~user_agent_sdk.running` under asyncio), or else a loop of
the runtime's own on a thread of its own (:meth:`AsyncioLoop.on_own_thread`).

The slot that makes the call waits for it in trio. When the slot is cancelled (the
shutdown grace ran out), the asyncio task is cancelled as asyncio cancels tasks (a
``CancelledError`` at its ``await``), and the slot waits for it to end, at most
:data:`CANCEL_WAIT_S`, before it reports the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import selectors
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import outcome
import trio

from ._clock import TimerFd

CANCEL_WAIT_S = 5.0
"""How long a cancelled slot waits for its asyncio task to finish cancelling."""
CLOSE_WAIT_S = 5.0
"""How long closing an own loop waits for tasks still running to finish cancelling."""


class _Call:
    """One handler call on its way to the asyncio loop and back."""

    __slots__ = ("cancelled", "context", "done", "make", "task")

    def __init__(self, make: Callable[[], Awaitable[Any]], context: contextvars.Context) -> None:
        self.make = make
        self.context = context
        self.done = trio.Event()
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        # On the asyncio loop's thread.
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


class AsyncioLoop:
    """An asyncio event loop, running on some thread, that runs handlers for trio callers.

    Calls cross between the threads in batches: the calls made while the loop has not
    yet picked up the last ones are started together, and the calls that end while trio
    has not yet seen the last ones are handed back together, one wake-up each way per
    batch however many slots are busy.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._token: trio.lowlevel.TrioToken | None = None
        self._starts: deque[_Call] = deque()
        self._starting = False
        """A pick-up of ``_starts`` is scheduled on the loop and has not begun."""
        self._ends: deque[_Call] = deque()
        self._ending = False
        """A hand-back of ``_ends`` is scheduled in trio and has not begun."""

    @classmethod
    @contextlib.contextmanager
    def on_own_thread(cls, name: str = "useragent-asyncio") -> Iterator[AsyncioLoop]:
        """A new event loop running on a daemon thread until the block ends; then tasks
        still running on it are cancelled (and given :data:`CLOSE_WAIT_S` to finish).

        On Linux its waits end at the next timer's deadline, not at epoll's rounded
        millisecond (see :class:`_PreciseSelector`)."""
        timer = TimerFd.open()
        selector = _PreciseSelector(timer) if timer is not None else None
        loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop(selector)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
                _cancel_remaining(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                if timer is not None:
                    timer.close()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        ready.wait()
        try:
            yield cls(loop)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    async def call(self, make: Callable[[], Awaitable[Any]]) -> outcome.Outcome[Any]:
        """Run ``make()`` as an asyncio task on this loop, in a copy of the caller's
        context, and wait for it in trio; how it ended. Cancelling the caller cancels
        the task and waits for it (at most :data:`CANCEL_WAIT_S`), then raises."""
        if self._token is None:
            self._token = trio.lowlevel.current_trio_token()
        call = _Call(make, contextvars.copy_context())
        self._starts.append(call)
        if not self._starting:
            self._starting = True
            self.loop.call_soon_threadsafe(self._start_waiting)
        try:
            await call.done.wait()
        except trio.Cancelled:
            # Scheduled after the pick-up that starts it: the task exists by then.
            self.loop.call_soon_threadsafe(call.cancel)
            with trio.CancelScope(shield=True), trio.move_on_after(CANCEL_WAIT_S):
                await call.done.wait()
            raise
        task = call.task
        assert task is not None
        if task.cancelled():
            # Cancelled from inside asyncio (not by this call): the handler gave up.
            return outcome.Error(RuntimeError("the handler's asyncio task was cancelled"))
        error = task.exception()
        return outcome.Value(task.result()) if error is None else outcome.Error(error)

    def _start_waiting(self) -> None:
        # On the loop's thread. The flag goes down before the queue is read: a call
        # queued from now on schedules a pick-up of its own.
        self._starting = False
        while self._starts:
            call = self._starts.popleft()
            task = self.loop.create_task(_awaited(call.make), context=call.context)
            task.add_done_callback(functools.partial(self._ended, call))
            call.task = task
            if call.cancelled:
                task.cancel()

    def _ended(self, call: _Call, _: object) -> None:
        # On the loop's thread.
        self._ends.append(call)
        if not self._ending:
            self._ending = True
            assert self._token is not None
            with contextlib.suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._hand_back)

    def _hand_back(self) -> None:
        # In trio. As in _start_waiting: the flag first, then the queue.
        self._ending = False
        while self._ends:
            self._ends.popleft().done.set()


class _PreciseSelector(selectors.EpollSelector):
    """epoll whose timed waits end on time: a ``timerfd`` in the set, armed for the
    wait's end (asyncio's own timeout is rounded up to whole milliseconds, so every
    ``asyncio.sleep`` would resume up to a millisecond late)."""

    def __init__(self, timer: TimerFd) -> None:
        super().__init__()
        self._timer = timer
        super().register(timer.fd, selectors.EVENT_READ)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0:
            self._timer.arm(time.perf_counter() + timeout)
        ready = super().select(timeout)
        found = [(key, events) for key, events in ready if key.fd != self._timer.fd]
        if len(found) != len(ready):
            self._timer.clear()
        return found


async def _awaited(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=CLOSE_WAIT_S))
