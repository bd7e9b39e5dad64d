"""The workloads, and the handler each contender runs for them, written as its docs say.

Every handler returns ``{"n": n}`` for input ``{"n": n}``, and the harness checks every
output. Workloads (:data:`WORKLOADS`), each with its own concurrency:

- ``noop`` (32 at once): returns at once, in each contender's cheapest form: ``async def``
  for this project (native on trio: ``event_loop="trio"``, as for all its async handlers
  here; its default for ``async def`` is asyncio, as in user-agent-sdk 0.2.0); plain
  ``def`` for user-agent-sdk 0.2.0 (it runs an ``async def`` through ``asyncio.run`` per
  task) and for conductor-python (its docs recommend ``async def`` for I/O, but on a
  no-op its async runner measured ~4x slower and ~3x the CPU per task of its thread-pool
  runner here, so it gets the faster one);
- ``async-10ms`` (32): ``async def`` awaiting a 10 ms sleep (trio's for this project,
  asyncio's for the peers);
- ``async-10ms-asyncio`` (32): the same handler written for asyncio in every contender,
  as a published agent is: ``await asyncio.sleep(0.01)``, and for this project without
  ``event_loop``, so it runs as an asyncio task on the runtime's asyncio loop (a thread
  of its own). The peers run what they run on ``async-10ms``: their async handlers are
  asyncio's there too;
- ``sync-10ms`` (32): ``def`` calling ``time.sleep(0.01)``: a blocking call the runtime
  has to keep off its event loop (threads);
- ``agent-async`` (2,000): the shape of an agent waiting on a model or a tool: ``async
  def`` awaiting a uniform random 1-3 s. The sleep is drawn from ``random.Random(n)``, so
  every contender sleeps the same time on the same task and the figures compare
  runtimes, not luck;
- ``sync-500ms`` (256): ``def`` calling ``time.sleep(0.5)``: blocking agent code (a
  synchronous SDK) on many threads.

The ideal rate is concurrency / mean handler time: 3,200 tasks/s for the three 10 ms
workloads, 1,000 for ``agent-async``, 512 for ``sync-500ms``.
"""

from __future__ import annotations

import heapq
import math
import random

import attrs


@attrs.frozen
class Workload:
    """What every handler does, how many run at once, and what that allows at best."""

    name: str
    title: str
    concurrency: int
    """``-w`` / ``--workers`` / conductor-python's ``thread_count``."""
    handler_s: float
    """The handler's mean time; 0 for the no-op (no ideal rate)."""
    quick_tasks: int
    """Tasks per run under ``--quick``: a drain of a few seconds at the ideal rate."""
    target_share: float | None = None
    """What the issue asks of this project: this share of the ideal rate (a note, not a test)."""
    target_rss_mib: float | None = None
    """... with at most this peak RSS."""
    target_over: tuple[str, float] | None = None
    """... and at least this many times the tasks/s of this contender in the same run."""
    spread_s: float = 0.0
    """Task ``n``'s handler takes ``random.Random(n).uniform(handler_s ± spread_s)``."""

    @property
    def tag(self) -> str:
        """The title's letter in parentheses, e.g. ``(b)``: the chart's label."""
        return self.title[: self.title.index(")") + 1]

    @property
    def ideal_tasks_per_s(self) -> float | None:
        return self.concurrency / self.handler_s if self.handler_s else None

    def handler_time_s(self, n: int) -> float:
        """How long the handler of task ``n`` takes, in every contender."""
        if not self.spread_s:
            return self.handler_s
        low, high = self.handler_s - self.spread_s, self.handler_s + self.spread_s
        return random.Random(n).uniform(low, high)

    def ceiling_share(self, tasks: int) -> float | None:
        """The share of the ideal that a runtime with no overhead at all reaches on ``tasks``.

        Below 1 when the last round is short or uneven: each free slot takes the next task
        at once, and the window ends when the last slot finishes. For ``agent-async``,
        20,000 tasks: 0.918.
        """
        ideal = self.ideal_tasks_per_s
        if ideal is None:
            return None
        slots = [0.0] * min(self.concurrency, tasks)  # when each slot is next free: a heap
        for n in range(tasks):
            heapq.heapreplace(slots, slots[0] + self.handler_time_s(n))
        return tasks / max(slots) / ideal

    def cap_s(self, tasks: int, floor_s: float) -> float:
        """How long a contender may drain ``tasks``: ``floor_s``, or 3x the ideal drain if longer.

        A runtime at 90% of the ideal must be rated on every task, not cut off: 20,000 tasks
        of ``sync-500ms`` take 39 s at the ideal rate, 117 s is their cap.
        """
        ideal = self.ideal_tasks_per_s
        return floor_s if ideal is None else max(floor_s, math.ceil(3 * tasks / ideal))


WORKLOADS = {
    workload.name: workload
    for workload in (
        Workload("noop", "(a) no-op handler", 32, 0.0, 200),
        Workload("async-10ms", "(b) async handler awaiting 10 ms", 32, 0.010, 200),
        Workload(
            "async-10ms-asyncio",
            "(b-asyncio) async handler awaiting asyncio.sleep 10 ms",
            32,
            0.010,
            200,
            target_share=0.85,
            target_over=("conductor-python", 3.0),
        ),
        Workload("sync-10ms", "(c) sync handler sleeping 10 ms", 32, 0.010, 200),
        # 2 rounds of 2,000: 4 s at the ideal rate.
        Workload(
            "agent-async",
            "(d) async agent awaiting 1-3 s",
            2000,
            2.0,
            4000,
            target_share=0.90,
            target_rss_mib=150,
            spread_s=1.0,
        ),
        # 4 rounds of 256: 2 s at the ideal rate.
        Workload(
            "sync-500ms", "(e) sync handler sleeping 500 ms", 256, 0.5, 1024, target_share=0.85
        ),
    )
}

# -- @user_agent(): this project and user-agent-sdk 0.2.0 --------------------------------

_USER_AGENT_BODIES = {
    ("ours", "noop"): """
@user_agent(agent_id={task_type!r}, event_loop="trio")
async def handle(input_data):
    return {{"n": input_data["n"]}}
""",
    ("uas", "noop"): """
@user_agent(agent_id={task_type!r})
def handle(input_data):
    return {{"n": input_data["n"]}}
""",
    ("ours", "async-10ms"): """
import trio


@user_agent(agent_id={task_type!r}, event_loop="trio")
async def handle(input_data):
    await trio.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
    ("uas", "async-10ms"): """
import asyncio


@user_agent(agent_id={task_type!r})
async def handle(input_data):
    await asyncio.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
    ("ours", "sync-10ms"): """
import time


@user_agent(agent_id={task_type!r})
def handle(input_data):
    time.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
    ("ours", "agent-async"): """
import random

import trio


@user_agent(agent_id={task_type!r}, event_loop="trio")
async def handle(input_data):
    n = input_data["n"]
    await trio.sleep(random.Random(n).uniform(1.0, 3.0))
    return {{"n": n}}
""",
    ("uas", "agent-async"): """
import asyncio
import random


@user_agent(agent_id={task_type!r})
async def handle(input_data):
    n = input_data["n"]
    await asyncio.sleep(random.Random(n).uniform(1.0, 3.0))
    return {{"n": n}}
""",
    ("ours", "sync-500ms"): """
import time


@user_agent(agent_id={task_type!r})
def handle(input_data):
    time.sleep(0.5)
    return {{"n": input_data["n"]}}
""",
}
# A published agent's asyncio handler, unchanged: no event_loop, so this project runs it on
# asyncio (its default for `async def`), and user-agent-sdk through asyncio.run per task.
_USER_AGENT_BODIES["ours", "async-10ms-asyncio"] = _USER_AGENT_BODIES["uas", "async-10ms"]
_USER_AGENT_BODIES["uas", "async-10ms-asyncio"] = _USER_AGENT_BODIES["uas", "async-10ms"]
_USER_AGENT_BODIES["uas", "sync-10ms"] = _USER_AGENT_BODIES["ours", "sync-10ms"]
_USER_AGENT_BODIES["uas", "sync-500ms"] = _USER_AGENT_BODIES["ours", "sync-500ms"]


def user_agent_script(flavour: str, workload: str, task_type: str) -> str:
    """An ``agent.py`` for ``useragent run`` (``flavour``: ``ours`` or ``uas``)."""
    body = _USER_AGENT_BODIES[flavour, workload].format(task_type=task_type)
    return "from user_agent_sdk import user_agent\n" + body


# -- conductor-python 2.x: @worker_task or Worker instances, and a TaskHandler ------------
#
# conductor-python runs each worker in a process of its own: a `def` handler on a pool of
# `thread_count` threads (TaskRunner), an `async def` one as coroutines on one event loop,
# at most `thread_count` at once (AsyncTaskRunner, chosen automatically). Its sizing advice
# (conductor-oss/python-sdk, docs/design/WORKER_DESIGN.md, "Choosing thread_count" and
# "Performance Guidelines"): async I/O workers 50-200 ("higher values possible"), sync I/O
# workers 10-50; more capacity for one task type comes from more instances of the same
# worker, each its own process (docs/WORKER.md, "Performance"). Poll settings stay at
# their documented defaults (poll_interval 100 ms, poll_timeout 100 ms).
#
# agent-async, 2,000 at once: 20 instances of one `async def` worker, `thread_count=100`
# each: the recommended range, at the size of the HTTP connection pool each process has
# (httpx, 100 connections). The other shapes, tried on this machine with the same
# handler (4,000-10,000 tasks queued, 2026-11-28):
# - 1 x 2,000 ("higher values possible"): it asks for every free slot in one batch poll,
#   `count=2000`; this server leases at most 1,000 per request and answers 400, so the
#   worker serves nothing (a server without that cap would take it);
# - 2 x 1,000 (under the cap): leases 2,000 tasks, then ~1,700 result updates queue for
#   the 100 pooled connections and hardly any complete (13 in 10 s): ~4 tasks/s;
# - 10 x 200 (top of the range): ~50-150 tasks/s; 20 x 100: ~150-200 tasks/s, the best.
#
# async-10ms-asyncio, 32 at once: conductor-python 2.x's asyncio worker. In 2.x that is
# `AsyncTaskRunner` (conductor/client/automator/async_task_runner.py): poll, handler and
# update on one asyncio loop in the worker's process (httpx.AsyncClient), at most
# `thread_count` handlers at once (an asyncio.Semaphore). It has no switch of its own:
# `TaskHandler` picks it for every `async def` worker (`_is_async_execute_callable` in
# task_handler.py), which is how (b) has always run it. 1.x's `TaskHandlerAsyncIO` (and
# the `asyncio=` argument that replaced it) no longer exist in 2.0.0. Configured as its
# docs write it (the `TaskHandler` docstring in 2.0.0, "Async Workers (async def)";
# conductor-oss/python-sdk docs/design/WORKER_DESIGN.md, "Async Worker" and "Start
# Workers"): `@worker_task(thread_count=N) async def`, started by
# `TaskHandler(...).start_processes()`; `thread_count` is "max concurrent executions": 32.
# Its "50-200" for async workers sizes a worker's capacity; here the workload fixes the
# concurrency at 32 for every contender. The program is (b)'s.
#
# sync-500ms, 256 at once: one worker, `thread_count=256`: `thread_count` is the worker's
# concurrency, and the in-range shape (8 instances x 32 threads) measured slower here
# (~246 tasks/s against ~285 on 8,000 tasks). Every other workload: one
# `@worker_task(thread_count=<concurrency>)`, as its README writes a worker.

_CONDUCTOR_INSTANCES = {"agent-async": (20, 100)}
"""Workloads served by N ``Worker`` instances of ``thread_count`` T each: (N, T)."""

_CONDUCTOR_HANDLERS = {
    "noop": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
def handle(n: int) -> dict:
    return {{"n": n}}
""",
    "async-10ms": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
async def handle(n: int) -> dict:
    await asyncio.sleep(0.01)
    return {{"n": n}}
""",
    "sync-10ms": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
def handle(n: int) -> dict:
    time.sleep(0.01)
    return {{"n": n}}
""",
    "agent-async": """
async def handle(n: int) -> dict:
    await asyncio.sleep(random.Random(n).uniform(1.0, 3.0))
    return {{"n": n}}
""",
    "sync-500ms": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
def handle(n: int) -> dict:
    time.sleep(0.5)
    return {{"n": n}}
""",
}

_CONDUCTOR_HANDLERS["async-10ms-asyncio"] = _CONDUCTOR_HANDLERS["async-10ms"]

# No `from __future__ import annotations`: conductor-python reads the handler's
# annotations at run time to map inputData onto its parameters.
_CONDUCTOR_MAIN = """
import asyncio
import random
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.worker import Worker
from conductor.client.worker.worker_task import worker_task

{handler}

if __name__ == "__main__":  # TaskHandler starts its worker processes with 'spawn'
    workers = {workers}
    with TaskHandler(workers, Configuration(), scan_for_annotated_workers=True) as handler:
        handler.start_processes()
        handler.join_processes()
"""


def conductor_script(workload: str, task_type: str) -> str:
    """A conductor-python worker program, configured by ``CONDUCTOR_*`` variables."""
    concurrency = WORKLOADS[workload].concurrency
    handler = _CONDUCTOR_HANDLERS[workload].format(task_type=task_type, concurrency=concurrency)
    workers = "[]  # the @worker_task above is found by the scan"
    if workload in _CONDUCTOR_INSTANCES:
        instances, threads = _CONDUCTOR_INSTANCES[workload]
        assert instances * threads == concurrency, workload
        workers = (
            f"[Worker({task_type!r}, handle, thread_count={threads}) for _ in range({instances})]"
        )
    return _CONDUCTOR_MAIN.format(handler=handler, workers=workers)
