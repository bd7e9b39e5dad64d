"""Safe retries of requests that lease tasks: a repeated ``Idempotency-Key`` gets the same tasks.

A poll (and ``update-v2``, ``update-batch``) leases tasks as it answers. When the answer
is lost on its way (the connection broke, the client gave up waiting), the client cannot
tell whether anything was leased; sending the request again would lease more tasks and
strand the first ones until their lease runs out. So a client names each such request
with an ``Idempotency-Key`` header and sends a retry with the same key: the server
remembers, for a short while, which leases each key's answer handed out and answers a
retry with those tasks again, those that are still leased as they were handed out.

What a caller can rely on:

- a retry that arrives while the first request is still running waits for it and gets
  its tasks; if the first one leased nothing (or was cancelled), the retry runs afresh;
- an answer that could not be delivered gives its tasks back to the queue unless a
  later retry with the same key has taken them over;
- only the leases are remembered (task id and poll count), never task payloads, and for
  :data:`REMEMBER_S` seconds at most; empty answers are not remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import attrs
import trio

from ._engine import TaskEngine
from ._http import Response
from ._records import TaskAttempt

REMEMBER_S = 30.0
"""How long a key's leases are remembered: retries come within seconds, leases last longer."""
MAX_KEYS = 20_000
"""At most this many keys are remembered (the oldest are forgotten first)."""

Render = Callable[[list[TaskAttempt]], Response]
"""Builds the answer that hands out these tasks (perhaps none)."""


@attrs.define(eq=False)
class _Leased:
    done: trio.Event = attrs.Factory(trio.Event)
    leases: list[tuple[str, int]] | None = None
    """(task id, poll count) of what the first answer handed out; None: nothing leased."""
    render: Render | None = None
    holder: int = 0
    """Which delivery of the answer owns the leases now: a retry takes them over."""
    until: float = 0.0


class LeaseReplays:
    """Remembers the leases of recent keyed requests; one per server."""

    def __init__(self, engine: TaskEngine) -> None:
        self._engine = engine
        self._keys: OrderedDict[tuple[str, str], _Leased] = OrderedDict()

    async def answer(
        self,
        key: tuple[str, str] | None,
        lease: Callable[[], Awaitable[tuple[list[TaskAttempt], Render]]],
    ) -> Response:
        """The answer to a leasing request, computed by ``lease`` or replayed for ``key``.

        ``lease`` returns the tasks leased and how to render an answer that hands out a
        list of tasks (perhaps none). ``key`` is None for a request that carries no
        ``Idempotency-Key``. A replay whose tasks have all moved on (completed, timed
        out, given back) runs ``lease`` afresh.
        """
        if key is None:
            tasks, render = await lease()
            return self._deliver(tasks, render, None, 0)
        while (entry := self._remembered(key)) is not None:
            await entry.done.wait()
            if entry.leases and entry.render is not None:
                tasks = self._engine.still_leased(entry.leases)
                if tasks:
                    entry.holder += 1
                    return self._deliver(tasks, entry.render, entry, entry.holder)
            self._forget(key, entry)  # nothing left to hand out again: run afresh
        entry = _Leased(until=trio.current_time() + REMEMBER_S)
        self._remember(key, entry)
        try:
            tasks, render = await lease()
        except BaseException:
            self._forget(key, entry)
            raise
        finally:
            entry.done.set()
        if not tasks:
            self._forget(key, entry)
        entry.leases = [task.lease for task in tasks]
        entry.render = render
        return self._deliver(tasks, render, entry, 0)

    def _deliver(
        self, tasks: list[TaskAttempt], render: Render, entry: _Leased | None, holder: int
    ) -> Response:
        response = render(tasks)
        if not tasks:
            return response

        def undelivered() -> None:
            if entry is not None and entry.holder != holder:
                return  # a retry with the same key has taken these tasks over
            self._engine.release(tasks)
            if entry is not None:
                entry.leases = []

        return attrs.evolve(response, on_undelivered=undelivered)

    def _remembered(self, key: tuple[str, str]) -> _Leased | None:
        entry = self._keys.get(key)
        if entry is not None and entry.until < trio.current_time():
            del self._keys[key]
            return None
        return entry

    def _remember(self, key: tuple[str, str], entry: _Leased) -> None:
        now = trio.current_time()
        while self._keys:
            oldest = next(iter(self._keys.values()))
            if oldest.until >= now and len(self._keys) < MAX_KEYS:
                break
            self._keys.popitem(last=False)
        self._keys[key] = entry

    def _forget(self, key: tuple[str, str], entry: _Leased) -> None:
        if self._keys.get(key) is entry:
            del self._keys[key]
