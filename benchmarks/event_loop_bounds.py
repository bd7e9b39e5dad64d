"""What this machine allows workloads (b) and (c) before any runtime does anything.

``python benchmarks/event_loop_bounds.py [--tasks N]``: 32 trio tasks that only
``await trio.sleep(0.01)`` in a loop (the bound of an async handler awaiting 10 ms), and
32 threads that only ``time.sleep(0.01)``, each call handed to its thread and back to
trio (the bound of a sync handler sleeping 10 ms). The trio sleeps run twice: on trio's
own clock (epoll's millisecond timeouts, rounded up) and on the precise clock
``useragent run`` uses (``user_agent_sdk.runtime.run_with_precise_timers``). Each prints
calls per second and the process's CPU per call; the ideal is 3,200/s. No server, no
HTTP, no JSON: a runtime's figures for (b) and (c) are to be read against these, not against 3,200.
"""

from __future__ import annotations

import argparse
import queue
import threading
import time
from collections.abc import Awaitable, Callable

import outcome
import trio

from user_agent_sdk.runtime import run_with_precise_timers

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


def _measure(
    name: str, total: int, run: Callable[[int], Awaitable[None]], *, precise: bool = False
) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    if precise:
        run_with_precise_timers(run, total)
    else:
        trio.run(run, total)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name}: {total / wall:,.0f} calls/s, {cpu / total * 1e3:.3f} ms CPU per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=8000)
    args = parser.parse_args()
    print(f"{SLOTS} at once, {SLEEP_S * 1e3:.0f} ms each; ideal {SLOTS / SLEEP_S:,.0f}/s")
    _measure("trio tasks, await trio.sleep", args.tasks, _trio_sleeps)
    _measure("the same on useragent run's clock", args.tasks, _trio_sleeps, precise=True)
    _measure("threads, time.sleep", args.tasks, _thread_sleeps)


if __name__ == "__main__":
    main()
