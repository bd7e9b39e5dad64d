"""A worker slot's own thread for sync handlers.

``trio.to_thread.run_sync`` costs about 0.25 ms of CPU per call (a capacity limiter, a
thread-cache hand-off, a copied context, a cancellable wait), as much as everything else
a task costs this runtime. A slot runs one handler at a time, so it can keep one thread
of its own and hand it each call through a queue; the slots' threads share one
:class:`Returns`, so calls that return together wake the event loop once. Together about
half of ``to_thread``'s cost per call.

Semantics match ``trio.to_thread.run_sync(..., abandon_on_cancel=True)``: the call runs
in the caller's context (``contextvars``), its exception is raised in the caller, and a
cancelled caller returns at once while the call runs on unobserved (its thread is then
retired: it ends after the call, and the next call gets a fresh thread).
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any

import outcome
import trio

_names = itertools.count(1)


class _Call:
    __slots__ = ("abandoned", "context", "fn", "task")

    def __init__(self, fn: Callable[[], Any], task: trio.lowlevel.Task) -> None:
        self.fn = fn
        self.task = task
        self.context = contextvars.copy_context()
        self.abandoned = False


class SlotThread:
    """Runs one slot's sync calls on a thread of its own; :meth:`close` when done.

    Use from one trio task at a time (its slot); threads are started lazily, named
    ``<prefix>-<n>``, and are daemons only so that an abandoned call cannot hold up
    interpreter exit. Pass one :class:`Returns` to all the slots of a run (by default each
    makes its own).
    """

    def __init__(self, prefix: str, returns: Returns | None = None) -> None:
        self._prefix = prefix
        self._returns = returns
        self._calls: queue.SimpleQueue[_Call | None] | None = None

    async def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on this slot's thread; cancellation abandons it (see the module)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._calls is None:
            self._calls = self._start()
        call = _Call(fn, trio.lowlevel.current_task())
        self._calls.put(call)

        def abort(_: Any) -> trio.lowlevel.Abort:
            call.abandoned = True
            self.close()  # that thread ends after the call; a later one gets a new thread
            return trio.lowlevel.Abort.SUCCEEDED

        return await trio.lowlevel.wait_task_rescheduled(abort)

    def close(self) -> None:
        """Let the thread end once its current call (if any) returns."""
        if self._calls is not None:
            self._calls.put(None)
            self._calls = None

    def _start(self) -> queue.SimpleQueue[_Call | None]:
        calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        if self._returns is None:
            self._returns = Returns(trio.lowlevel.current_trio_token())
        thread = threading.Thread(
            target=_serve,
            args=(calls, self._returns),
            name=f"{self._prefix}-{next(_names)}",
            daemon=True,
        )
        thread.start()
        return calls


class Returns:
    """Calls that have returned, on their way back to trio: one wake-up for all that gather.

    ``run_sync_soon`` per call costs a write to trio's wake-up socket and a pass of the
    event loop each; under load many calls return between two passes.
    """

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._token = token
        self._lock = threading.Lock()
        self._ready: list[tuple[_Call, outcome.Outcome[Any]]] = []

    def add(self, call: _Call, result: outcome.Outcome[Any]) -> None:
        """From a handler thread; raises RunFinishedError once the run is over."""
        with self._lock:
            self._ready.append((call, result))
            if len(self._ready) > 1:
                return  # a hand-back is already on its way and takes this one too
        self._token.run_sync_soon(self._hand_back)

    def _hand_back(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for call, result in ready:
            if not call.abandoned:
                trio.lowlevel.reschedule(call.task, result)


def _serve(calls: queue.SimpleQueue[_Call | None], returns: Returns) -> None:
    while (call := calls.get()) is not None:
        result = outcome.capture(call.context.run, call.fn)
        try:
            returns.add(call, result)
        except trio.RunFinishedError:
            return  # the run is over: nobody is waiting any more
