"""A worker slot's own thread for sync handlers.

``trio.to_thread.run_sync`` takes a capacity limiter, a thread-cache hand-off, a copied
context and a cancellable wait per call: as much CPU as everything else a task costs
this runtime. A slot runs one handler at a time, so it can keep one thread
of its own and hand it each call through a queue; the slots' threads share one
:class:`Returns`, so calls that return together wake the event loop once.

A call that returns on a busy worker used to wait for the event loop twice before the
slot's next call began: once to hand its result back, once for the slot to hand the
next call over, a large share of a short handler's time. With a ``follow`` function the
thread asks, the moment a call returns, for the next call itself (the agent runner gives
it the next leased task, if one is waiting), starts it at once, and tells trio both
things in one hand-back: what returned, and what it went on to
(:attr:`Returned.followed`). The slot's trio task stays the owner of every call; it only
learns of a follow-up a moment after it began.

Semantics match ``trio.to_thread.run_sync(..., abandon_on_cancel=True)``: each call runs
in a copy of the slot task's context (``contextvars``), its exception comes back in its
:class:`Returned` (or is raised, by :meth:`SlotThread.run`), and a cancelled wait returns
at once while the call runs on unobserved: its thread is retired (it ends after the
call, starts no follow-up, and the slot's next call gets a fresh thread). Follow-ups the
thread had started that the slot never saw are listed in :attr:`SlotThread.orphans`.
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import outcome
import trio

Tag = TypeVar("Tag")

Follow = Callable[[], tuple[Callable[[], Any], Tag] | None]
"""Called on the slot's thread (under the slot's lock) when a call returns: the next call
to start right away and the tag that names it to the slot, or None to wait for the slot.
It must be quick and must not raise."""

_names = itertools.count(1)


class Returned(Generic[Tag]):
    """How one call ended, and the follow-up its thread went straight on to, if any."""

    __slots__ = ("followed", "outcome")

    def __init__(self, result: outcome.Outcome[Any], followed: Tag | None) -> None:
        self.outcome = result
        self.followed = followed


class _Call:
    __slots__ = ("context", "fn")

    def __init__(self, fn: Callable[[], Any], context: contextvars.Context) -> None:
        self.fn = fn
        self.context = context


class _Worker(Generic[Tag]):
    """One thread of a slot: what it reads, and the state it shares with trio."""

    def __init__(self, owner: SlotThread[Tag], follow: Follow[Tag] | None) -> None:
        self.owner = owner
        self.follow = follow
        self.calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self.context = contextvars.Context()
        """The slot task's context when it last made a call: each follow-up runs in a copy."""
        self.lock = threading.Lock()
        self.retired = False
        self.unseen: list[Tag] = []
        """Follow-ups started whose tag has not reached trio yet (guarded by ``lock``)."""


class SlotThread(Generic[Tag]):
    """Runs one slot's sync calls on a thread of its own; :meth:`close` when done.

    Use from one trio task at a time (its slot); threads are started lazily, named
    ``<prefix>-<n>``, and are daemons only so that an abandoned call cannot hold up
    interpreter exit. Pass one :class:`Returns` to all the slots of a run (by default each
    makes its own).
    """

    def __init__(
        self, prefix: str, returns: Returns | None = None, follow: Follow[Tag] | None = None
    ) -> None:
        self._prefix = prefix
        self._returns = returns
        self._follow = follow
        self._worker: _Worker[Tag] | None = None
        self._ready: deque[Returned[Tag]] = deque()
        self._waiter: trio.lowlevel.Task | None = None
        self.orphans: list[Tag] = []
        """Follow-ups that were running when a wait was cancelled: never returned to the
        slot, and never will be. The slot answers for them."""

    async def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on this slot's thread, its value returned or its exception raised
        (for slots without ``follow``); cancellation abandons it (see the module)."""
        assert self._follow is None, "a following slot thread's calls are awaited with call()"
        return (await self.call(fn)).outcome.unwrap()

    async def call(self, fn: Callable[[], Any]) -> Returned[Tag]:
        """Run ``fn()`` on this slot's thread and wait for it to end. If the result names
        a follow-up, :meth:`wait` for that next."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._worker is None:
            self._worker = self._start()
        base = contextvars.copy_context()
        self._worker.context = base
        self._worker.calls.put(_Call(fn, base.copy()))
        return await self._wait()

    async def wait(self) -> Returned[Tag]:
        """Wait for the follow-up named by the last :class:`Returned` to end."""
        return await self._wait()

    def close(self) -> None:
        """Let the thread end once its current call (if any) returns."""
        self._retire()

    async def _wait(self) -> Returned[Tag]:
        if self._ready:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return self._ready.popleft()
        self._waiter = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._waiter = None
            self._retire()
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
        return self._ready.popleft()

    def _retire(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with worker.lock:
            worker.retired = True
            self.orphans.extend(worker.unseen)
            worker.unseen.clear()
        worker.calls.put(None)
        self._ready.clear()

    def _deliver(self, worker: _Worker[Tag], returned: Returned[Tag]) -> None:
        """On trio's thread: a call of ``worker`` ended."""
        if worker is not self._worker:
            return  # retired: its calls were abandoned, its follow-ups listed as orphans
        if returned.followed is not None:
            with worker.lock:
                worker.unseen.remove(returned.followed)
        self._ready.append(returned)
        if self._waiter is not None:
            trio.lowlevel.reschedule(self._waiter)
            self._waiter = None

    def _start(self) -> _Worker[Tag]:
        if self._returns is None:
            self._returns = Returns(trio.lowlevel.current_trio_token())
        worker = _Worker(self, self._follow)
        thread = threading.Thread(
            target=_serve,
            args=(worker, self._returns),
            name=f"{self._prefix}-{next(_names)}",
            daemon=True,
        )
        thread.start()
        return worker


class Returns:
    """Calls that have returned, on their way back to trio: one wake-up for all that gather.

    ``run_sync_soon`` per call costs a write to trio's wake-up socket and a pass of the
    event loop each; under load many calls return between two passes.
    """

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._token = token
        self._lock = threading.Lock()
        self._ready: list[tuple[_Worker[Any], Returned[Any]]] = []

    def add(self, worker: _Worker[Any], returned: Returned[Any]) -> None:
        """From a slot's thread; raises RunFinishedError once the run is over."""
        with self._lock:
            self._ready.append((worker, returned))
            if len(self._ready) > 1:
                return  # a hand-back is already on its way and takes this one too
        self._token.run_sync_soon(self._hand_back)

    def _hand_back(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for worker, returned in ready:
            worker.owner._deliver(worker, returned)


def _serve(worker: _Worker[Any], returns: Returns) -> None:
    call = worker.calls.get()
    while call is not None:
        result = outcome.capture(call.context.run, call.fn)
        followed, after = None, None
        if worker.follow is not None:
            with worker.lock:
                chosen = None if worker.retired else worker.follow()
                if chosen is not None:
                    fn, followed = chosen
                    worker.unseen.append(followed)
                    after = _Call(fn, worker.context.copy())
        try:
            returns.add(worker, Returned(result, followed))
        except trio.RunFinishedError:
            return  # the run is over: nobody is waiting any more
        call = after if after is not None else worker.calls.get()
