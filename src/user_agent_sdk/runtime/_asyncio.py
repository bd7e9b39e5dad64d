"""Running ``async def`` handlers written for asyncio from the trio runtime.

The runtime is a trio program; a handler written for asyncio (``asyncio.sleep``,
aiohttp, asyncpg, most LLM tool kits) needs a running asyncio event loop. Each call
becomes an asyncio task on an :class:`AsyncioLoop`: the loop of the asyncio program that
embeds the runtime (:func:`~user_agent_sdk.running` under asyncio, calls cross to its
thread), or else a loop of the runtime's own (:meth:`AsyncioLoop.own`).

The runtime's own loop runs on trio's thread where the platform allows it (Linux:
:meth:`AsyncioLoop.in_trio_thread`): a trio task runs the loop's callbacks whenever it
has any, and waits in trio for the loop's I/O and its next timer, so no call crosses a
thread. While the loop's callbacks run, handler code sees a running asyncio loop, its
current task, asyncio's async-generator hooks, and :mod:`sniffio` saying ``asyncio``;
trio code between them sees none of that. A handler that blocks (``time.sleep``, a
blocking client) holds up the runtime's own work for that long on this loop, as it holds
up any asyncio program's; such work belongs in ``asyncio.to_thread`` or a ``def``
handler. Elsewhere the loop runs on a thread of its own (:meth:`AsyncioLoop.on_own_thread`).

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
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import outcome
import sniffio
import trio

from ._clock import TimerFd
from ._precise_selector import PreciseSelector, timer_time

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0
"""How long a cancelled slot waits for its asyncio task to finish cancelling."""
ITERATIONS_PER_STEP = 8
"""The most iterations of the runtime's own asyncio loop run back to back on trio's
thread while it has callbacks ready, before trio gets a turn."""
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
    """An asyncio event loop that runs handler calls for trio callers: :meth:`call`."""

    loop: asyncio.AbstractEventLoop

    async def call(self, make: Callable[[], Awaitable[Any]]) -> outcome.Outcome[Any]:
        """Run ``make()`` as an asyncio task on this loop, in a copy of the caller's
        context, and wait for it in trio; how it ended. Cancelling the caller cancels
        the task and waits for it (at most :data:`CANCEL_WAIT_S`), then raises."""
        raise NotImplementedError

    @staticmethod
    def of_host(loop: asyncio.AbstractEventLoop) -> AsyncioLoop:
        """The running loop of the program that embeds the runtime, on another thread
        than trio's: calls cross to it and back."""
        return _OtherThreadLoop(loop)

    @classmethod
    @contextlib.contextmanager
    def own(cls) -> Iterator[AsyncioLoop]:
        """A new event loop for the block, from inside a trio run: on trio's thread where
        the platform allows it (:meth:`in_trio_thread`; not under trio's guest mode),
        else on a thread of its own (:meth:`on_own_thread`). At the end tasks still
        running on it are cancelled (and given :data:`CLOSE_WAIT_S` to finish)."""
        # Under trio's guest mode an asyncio loop already runs on this thread.
        timer = TimerFd.open() if asyncio._get_running_loop() is None else None
        if timer is not None:
            with cls.in_trio_thread(timer) as loop:
                yield loop
        else:
            with cls.on_own_thread() as loop:
                yield loop

    @classmethod
    @contextlib.contextmanager
    def in_trio_thread(cls, timer: TimerFd | None = None) -> Iterator[AsyncioLoop]:
        """A new event loop driven by a trio system task of the current trio run, on its
        thread, until the block ends; then tasks still running on it are cancelled (and
        given :data:`CLOSE_WAIT_S` to finish, during which trio waits). Needs a
        ``timerfd`` (Linux): ``timer``, or a new one."""
        timer = timer if timer is not None else TimerFd.open()
        if timer is None:
            raise RuntimeError("the asyncio loop on trio's thread needs a timerfd (Linux)")
        selector = PreciseSelector(timer)
        try:
            loop = asyncio.SelectorEventLoop(selector)
        except BaseException:
            selector.close()
            raise
        driven = _TrioThreadLoop(loop, selector)
        try:
            trio.lowlevel.spawn_system_task(driven.drive, name="useragent asyncio loop")
        except BaseException:
            loop.close()
            raise
        try:
            yield driven
        finally:
            driven.close()

    @classmethod
    @contextlib.contextmanager
    def on_own_thread(cls, name: str = "useragent-asyncio") -> Iterator[AsyncioLoop]:
        """A new event loop running on a daemon thread until the block ends; then tasks
        still running on it are cancelled (and given :data:`CLOSE_WAIT_S` to finish).

        On Linux its waits end at the next timer's deadline, not at epoll's rounded
        millisecond (see :class:`PreciseSelector`)."""
        timer = TimerFd.open()
        selector = PreciseSelector(timer) if timer is not None else None
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

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        ready.wait()
        try:
            yield _OtherThreadLoop(loop)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()


class _TrioThreadLoop(AsyncioLoop):
    """An asyncio loop stepped by a trio task on trio's own thread.

    Each step runs the loop (:meth:`PreciseSelector.run_without_waiting`) while it has
    callbacks ready, up to :data:`ITERATIONS_PER_STEP` iterations, with trio's run hidden and
    :mod:`sniffio`'s thread-local cleared (:func:`_as_asyncio`). A call steps the loop
    itself, so its handler starts at once in the caller's trio task. Otherwise a
    driver task steps it: at once while callbacks are ready, else when the selector's
    epoll fd becomes readable (one of the loop's fds is ready, or its timerfd fired for
    its next timer). No wait uses a trio deadline or cancellation, which cost far more
    per wake-up than a step does.
    """

    def __init__(self, loop: asyncio.SelectorEventLoop, selector: PreciseSelector) -> None:
        self.loop = loop
        self._selector = selector
        self._fd = selector.fileno()
        self._ready: deque[asyncio.Handle] = loop._ready  # type: ignore[attr-defined]
        self._scope = trio.CancelScope()
        self._closed = False
        self._blocked = False
        """The driver waits for the selector: a step that leaves callbacks ready wakes it."""
        self._ends: deque[trio.Event] = deque()
        """The events of calls whose tasks ended in the last step, set after it."""

    async def call(self, make: Callable[[], Awaitable[Any]]) -> outcome.Outcome[Any]:
        done = trio.Event()
        task = self.loop.create_task(_awaited(make), context=contextvars.copy_context())
        task.add_done_callback(lambda _: self._ends.append(done))
        # The handler starts here and now, up to its first wait.
        self._step()
        try:
            await done.wait()
        except trio.Cancelled:
            task.cancel()
            self._step()
            with trio.CancelScope(shield=True), trio.move_on_after(CANCEL_WAIT_S):
                await done.wait()
            raise
        return _ended_as(task)

    async def drive(self) -> None:
        """Step the loop whenever it has something to do, until :meth:`close`."""
        with self._scope:
            try:
                while not self._closed:
                    if self._ready:
                        await trio.lowlevel.checkpoint()
                    else:
                        self._blocked = True
                        try:
                            await trio.lowlevel.wait_readable(self._fd)
                        finally:
                            self._blocked = False
                    if not self._closed:
                        self._step()
            except trio.ClosedResourceError:
                pass

    @trio.lowlevel.enable_ki_protection
    def _step(self) -> None:
        """Run the loop's ready callbacks, I/O and timers (iterations while callbacks
        are ready, at most :data:`ITERATIONS_PER_STEP`); then wake the callers whose
        tasks ended, and make sure the driver steps again when there is more to do:
        at once if callbacks are still ready, else at the next timer or I/O."""
        loop = self.loop
        with _as_asyncio():
            self._selector.run_without_waiting(loop, ITERATIONS_PER_STEP)
        if self._ready:
            if self._blocked:
                # A byte on the loop's self-pipe: the driver's wait ends. Written after
                # every such step: a step (this one too) may have drained earlier ones.
                loop.call_soon_threadsafe(_nothing)
        else:
            scheduled: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]
            if scheduled:
                self._selector.arm(timer_time(scheduled[0].when(), loop))
        self._hand_back()

    def _hand_back(self) -> None:
        while self._ends:
            self._ends.popleft().set()

    def close(self) -> None:
        """Stop stepping, cancel the tasks left (trio waits for them, at most
        :data:`CLOSE_WAIT_S`) and close the loop."""
        self._closed = True
        self._scope.cancel()
        trio.lowlevel.notify_closing(self._fd)
        try:
            with _as_asyncio():
                _cancel_remaining(self.loop)
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            self._hand_back()


_TRIO_RUN_CONTEXT: object | None
"""trio's thread-local that says which trio run and task the thread is in."""
try:
    from trio._core._run import GLOBAL_RUN_CONTEXT as _TRIO_RUN_CONTEXT
except ImportError:  # pragma: no cover - a trio that keeps it elsewhere
    _TRIO_RUN_CONTEXT = None


@contextlib.contextmanager
def _as_asyncio() -> Iterator[None]:
    """Within the block, on trio's thread, code sees no trio run (trio calls fail as
    they do outside trio) and :mod:`sniffio` finds asyncio by asyncio's own means; an
    ``exit()`` or ``KeyboardInterrupt`` a handler raised (its task keeps it as its
    outcome) goes no further."""
    library = sniffio.thread_local.name
    sniffio.thread_local.name = None
    hidden = vars(_TRIO_RUN_CONTEXT) if _TRIO_RUN_CONTEXT is not None else {}
    saved = dict(hidden)
    hidden.clear()
    try:
        yield
    except (SystemExit, KeyboardInterrupt) as exc:
        log.debug("an asyncio handler raised %r", exc)
    finally:
        hidden.update(saved)
        sniffio.thread_local.name = library


class _OtherThreadLoop(AsyncioLoop):
    """An asyncio event loop running on another thread than trio's.

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

    async def call(self, make: Callable[[], Awaitable[Any]]) -> outcome.Outcome[Any]:
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
        assert call.task is not None
        return _ended_as(call.task)

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


def _nothing() -> None:
    pass


def _ended_as(task: asyncio.Task[Any]) -> outcome.Outcome[Any]:
    if task.cancelled():
        # Cancelled from inside asyncio (not by the call): the handler gave up.
        return outcome.Error(RuntimeError("the handler's asyncio task was cancelled"))
    error = task.exception()
    return outcome.Value(task.result()) if error is None else outcome.Error(error)


async def _awaited(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=CLOSE_WAIT_S))
