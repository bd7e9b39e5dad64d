"""What this machine allows workloads (b), (b-asyncio) and (c) before any runtime does anything.

``python benchmarks/event_loop_bounds.py [--tasks N]``: 32 trio tasks that only
``await trio.sleep(0.01)`` in a loop (the bound of an async handler awaiting 10 ms), and
32 threads that only ``time.sleep(0.01)``, each call handed to its thread and back to
trio (the bound of a sync handler sleeping 10 ms). The trio sleeps run twice: on trio's
own clock (epoll's millisecond timeouts, rounded up) and on the precise clock
``useragent run`` uses (``user_agent_sdk.runtime.run_with_precise_timers``).

For handlers written for asyncio (b-asyncio): 32 asyncio tasks that only
``await asyncio.sleep(0.01)`` on a plain asyncio loop, then the same sleeps each called
from a trio slot through the runtime's own asyncio loop (``AsyncioLoop``): on trio's
thread, as ``useragent run`` runs it on Linux, and on a thread of its own (two thread
crossings per call), each with the switch interval ``useragent run`` sets and once with
Python's default; the median time of each leg of such a call past its 10 ms (to the
handler's start, the sleep's lateness, back to trio), 32 at once and alone; and that
bridge with a handler that returns at once (its cost per call, no sleep).

Each prints calls per second and the process's CPU per call; the ideal is 3,200/s. No
server, no HTTP, no JSON: a runtime's figures for (b) and (c) are to be read against
these, not against 3,200.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import queue
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any

import outcome
import trio

from user_agent_sdk.cli._run import SYNC_SWITCH_INTERVAL_S
from user_agent_sdk.runtime import run_with_precise_timers
from user_agent_sdk.runtime._asyncio import AsyncioLoop

SLOTS = 32
SLEEP_S = 0.01


async def _trio_sleeps(total: int) -> None:
    left = total

    async def slot() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await trio.sleep(SLEEP_S)

    async with trio.open_nursery() as nursery:
        for _ in range(SLOTS):
            nursery.start_soon(slot)


async def _thread_sleeps(total: int) -> None:
    token = trio.lowlevel.current_trio_token()
    left = total

    def serve(calls: queue.SimpleQueue[trio.lowlevel.Task | None]) -> None:
        while (task := calls.get()) is not None:
            token.run_sync_soon(
                trio.lowlevel.reschedule, task, outcome.capture(time.sleep, SLEEP_S)
            )

    async def slot() -> None:
        nonlocal left
        calls: queue.SimpleQueue[trio.lowlevel.Task | None] = queue.SimpleQueue()
        threading.Thread(target=serve, args=(calls,), daemon=True).start()
        while left > 0:
            left -= 1
            calls.put(trio.lowlevel.current_task())
            await trio.lowlevel.wait_task_rescheduled(
                lambda _: trio.lowlevel.Abort.FAILED  # never cancelled here
            )
        calls.put(None)

    async with trio.open_nursery() as nursery:
        for _ in range(SLOTS):
            nursery.start_soon(slot)


async def _asyncio_sleeps(total: int) -> None:
    left = total

    async def slot() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await asyncio.sleep(SLEEP_S)

    await asyncio.gather(*(slot() for _ in range(SLOTS)))


async def _returns_at_once() -> None:
    pass


_LOOPS: dict[str, Callable[[], AbstractContextManager[AsyncioLoop]]] = {
    "on trio's thread": AsyncioLoop.in_trio_thread,
    "on a thread of its own": AsyncioLoop.on_own_thread,
}
"""Where the runtime's own asyncio loop runs: ``useragent run`` uses the first (Linux),
the second is the design before it and the fallback elsewhere."""


def _bridged(
    handler: Callable[[], Awaitable[None]], where: str
) -> Callable[[int], Coroutine[Any, Any, None]]:
    """``total`` calls of ``handler`` from 32 trio slots, each through the runtime's
    asyncio loop (``where``: a key of :data:`_LOOPS`), as ``useragent run`` calls an
    asyncio handler."""

    async def run(total: int) -> None:
        left = total
        with _LOOPS[where]() as loop:

            async def slot() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    (await loop.call(handler)).unwrap()

            async with trio.open_nursery() as nursery:
                for _ in range(SLOTS):
                    nursery.start_soon(slot)

    return run


def _sleep_on_asyncio() -> Awaitable[None]:
    return asyncio.sleep(SLEEP_S)


async def _timed_sleep(marks: list[float]) -> None:
    marks.append(time.perf_counter())
    await asyncio.sleep(SLEEP_S)
    marks.append(time.perf_counter())


def _bridge_legs(total: int, slots: int, where: str) -> None:
    """Where a bridged ``asyncio.sleep(0.01)`` call's time goes, ``slots`` at once: the
    medians of its three legs past the 10 ms, with ``useragent run``'s clock and switch
    interval."""
    legs: list[tuple[float, float, float]] = []

    async def run() -> None:
        left = total
        with _LOOPS[where]() as loop:

            async def slot() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    marks: list[float] = []
                    called = time.perf_counter()
                    (await loop.call(functools.partial(_timed_sleep, marks))).unwrap()
                    back = time.perf_counter()
                    started, ended = marks
                    legs.append((started - called, ended - started - SLEEP_S, back - ended))

            async with trio.open_nursery() as nursery:
                for _ in range(slots):
                    nursery.start_soon(slot)

    default_interval = sys.getswitchinterval()
    sys.setswitchinterval(SYNC_SWITCH_INTERVAL_S)
    try:
        run_with_precise_timers(run)
    finally:
        sys.setswitchinterval(default_interval)
    start, late, back = (statistics.median(leg) * 1e3 for leg in zip(*legs, strict=True))
    print(
        f"  {where}, {slots} at once, medians: trio to the handler's start {start:.2f} ms, "
        f"asyncio.sleep late by {late:.2f} ms, the handler's end back to trio {back:.2f} ms"
    )


def _measure(
    name: str,
    total: int,
    run: Callable[[int], Coroutine[Any, Any, None]],
    *,
    driver: str = "trio",
    switch_interval_s: float | None = None,
) -> None:
    """``run(total)`` on ``driver``: ``trio``, ``precise`` (useragent run's clock) or
    ``asyncio``; with ``switch_interval_s`` as the GIL's switch interval, if given."""
    default_interval = sys.getswitchinterval()
    if switch_interval_s is not None:
        sys.setswitchinterval(switch_interval_s)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        if driver == "precise":
            run_with_precise_timers(run, total)
        elif driver == "asyncio":
            asyncio.run(run(total))
        else:
            trio.run(run, total)
    finally:
        sys.setswitchinterval(default_interval)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name}: {total / wall:,.0f} calls/s, {cpu / total * 1e3:.3f} ms CPU per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=8000)
    args = parser.parse_args()
    print(f"{SLOTS} at once, {SLEEP_S * 1e3:.0f} ms each; ideal {SLOTS / SLEEP_S:,.0f}/s")
    _measure("trio tasks, await trio.sleep", args.tasks, _trio_sleeps)
    _measure("the same on useragent run's clock", args.tasks, _trio_sleeps, driver="precise")
    _measure("threads, time.sleep", args.tasks, _thread_sleeps)
    _measure("asyncio tasks, await asyncio.sleep", args.tasks, _asyncio_sleeps, driver="asyncio")
    for where in _LOOPS:
        bridged_sleep = _bridged(_sleep_on_asyncio, where)
        _measure(
            f"the same from trio through the runtime's asyncio loop {where} (useragent "
            f"run's clock, switch interval {SYNC_SWITCH_INTERVAL_S * 1e3:g} ms)",
            args.tasks,
            bridged_sleep,
            driver="precise",
            switch_interval_s=SYNC_SWITCH_INTERVAL_S,
        )
        _measure(
            f"the same, switch interval {sys.getswitchinterval() * 1e3:g} ms (Python's default)",
            args.tasks,
            bridged_sleep,
            driver="precise",
        )
    print("where a bridged call's time goes:")
    for where in _LOOPS:
        _bridge_legs(args.tasks, SLOTS, where)
        _bridge_legs(min(args.tasks, 300), 1, where)
    for where in _LOOPS:
        _measure(
            f"that bridge {where}, a handler that returns at once "
            f"(switch interval {SYNC_SWITCH_INTERVAL_S * 1e3:g} ms)",
            args.tasks,
            _bridged(_returns_at_once, where),
            driver="precise",
            switch_interval_s=SYNC_SWITCH_INTERVAL_S,
        )


if __name__ == "__main__":
    main()
