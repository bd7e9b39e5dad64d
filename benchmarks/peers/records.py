"""What the server recorded about each submitted workflow, and the figures drawn from it.

All times come from the server's own records (``GET /api/workflow/{id}``: the workflow's
``createTime``, its task's ``startTime`` and ``endTime``, epoch milliseconds), so no client
clock or harness delay enters a figure.

- **tasks/s**: N tasks are queued before the contender starts; the window runs from the
  first task the contender took (the earliest ``startTime``) to the last completion (the
  latest ``endTime``), or to the cap for a contender that did not finish in time: the
  contender's interpreter start-up and imports are outside it, and so is the harness's
  polling after the last completion.
- **latency**: tasks submitted at a steady rate to a running contender; submit
  (``createTime``) to completion (``endTime``). A task not completed in time counts as
  infinitely late, so a percentile that lands on one is reported as missing (saturated).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import attrs

from .server import Api

COMPLETED = "COMPLETED"
HARNESS_WORKER = "bench-harness"
"""The worker id the harness completes left-over tasks under; never a contender's."""


@attrs.frozen
class Record:
    n: int
    status: str
    created_ms: int
    started_ms: int
    """When the (first attempt of the) task was handed to a worker; 0 if never."""
    ended_ms: int
    worker: str
    """The worker id of the last attempt."""

    @property
    def by_contender(self) -> bool:
        return self.status == COMPLETED and self.worker != HARNESS_WORKER


class WrongOutput(Exception):
    """A contender completed a task with an output other than ``{"n": n}``."""


def _record(n: int, workflow: dict[str, Any]) -> Record:
    tasks: list[dict[str, Any]] = workflow.get("tasks") or []
    starts = [int(task.get("startTime") or 0) for task in tasks]
    started = min((start for start in starts if start > 0), default=0)
    status = str(workflow["status"])
    ended = int(workflow.get("endTime") or 0)
    if status == COMPLETED:
        if workflow.get("output") != {"n": n}:
            raise WrongOutput(
                f"workflow {workflow.get('workflowId')}: output {workflow.get('output')!r}, "
                f"expected {{'n': {n}}}"
            )
        ended = ended or max(int(task.get("endTime") or 0) for task in tasks)
    worker = str(tasks[-1].get("workerId") or "") if tasks else ""
    return Record(n, status, int(workflow.get("createTime") or 0), started, ended, worker)


def collect(api: Api, ids: Sequence[str], *, wait_s: float, lanes: int = 8) -> list[Record]:
    """Every workflow's record; those still running are read again for up to ``wait_s``."""

    def read(numbers: Sequence[int]) -> list[Record]:
        return api.parallel(
            lambda i: _record(numbers[i], api.workflow(ids[numbers[i]])), len(numbers), lanes
        )

    records = read(range(len(ids)))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        running = [record.n for record in records if record.status == "RUNNING"]
        if not running:
            break
        time.sleep(0.1)
        for record in read(running):
            records[record.n] = record
    return records


@attrs.frozen
class Throughput:
    completed: int
    failed: int
    first_start_ms: int
    last_end_ms: int

    @property
    def window_s(self) -> float:
        return max(0.001, (self.last_end_ms - self.first_start_ms) / 1000)

    @property
    def tasks_per_s(self) -> float:
        return self.completed / self.window_s


def throughput(records: Sequence[Record], *, until_ms: int | None = None) -> Throughput:
    """The contender's completions; with ``until_ms`` (a capped run), only those by then."""
    done = [
        record
        for record in records
        if record.by_contender and (until_ms is None or record.ended_ms <= until_ms)
    ]
    started = [record.started_ms for record in records if record.started_ms > 0]
    if not done or not started:
        return Throughput(0, len(records), 0, 0)
    return Throughput(
        completed=len(done),
        failed=sum(record.status not in (COMPLETED, "RUNNING") for record in records),
        first_start_ms=min(started),
        last_end_ms=until_ms if until_ms is not None else max(r.ended_ms for r in done),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; inf when none."""
    if not values:
        return math.inf
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latencies_ms(records: Sequence[Record]) -> list[float]:
    """Submit-to-completion per task; inf for a task that did not complete."""
    return [
        float(record.ended_ms - record.created_ms) if record.status == COMPLETED else math.inf
        for record in records
    ]
