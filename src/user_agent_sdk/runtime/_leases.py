"""Lease renewal: one task per agent keeps the leases of all its running tasks alive.

A task leased for ``responseTimeoutSeconds`` is handed to another worker if its
handler runs longer than that. While a task runs, the keeper posts ``IN_PROGRESS``
with ``extendLease`` every half lease. One keeper serves every running task of an
agent, so a task that finishes well within its lease (nearly all of them) costs a
dictionary entry, not a task, a timer and a cancellation of its own.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math

import attrs
import trio

from ..conductor import (
    ConductorClient,
    ConductorError,
    RequestRejected,
    Task,
    TaskResult,
    TaskResultStatus,
    encode_result,
)
from ._logs import about_task
from ._measures import AgentMeasures

log = logging.getLogger("user_agent_sdk.runtime")

RETRY_FLOOR_S = 0.5
"""A failed renewal is tried again after a quarter lease, but not sooner than this."""


@attrs.define(eq=False)
class _Lease:
    task_id: str
    workflow_id: str | None
    interval: float
    ticket: int = 0
    """Which schedule entry is current; older entries for this lease are ignored."""


class LeaseKeeper:
    """Renews the lease of each task between :meth:`hold` and :meth:`release`.

    Run :meth:`run` in a nursery (``await nursery.start(keeper.run)``); cancelling it
    stops all renewals. A renewal the server refuses (the task is no longer leased to
    this worker) is logged and not tried again; one that fails for a passing reason is
    retried after a quarter lease.
    """

    def __init__(
        self,
        client: ConductorClient,
        worker_id: str,
        agent: str,
        measures: AgentMeasures | None = None,
        agent_id: str | None = None,
    ) -> None:
        self._measures = AgentMeasures() if measures is None else measures
        self._agent_id = agent_id
        self._client = client
        self._worker_id = worker_id
        self._agent = agent
        self._leases: dict[str, _Lease] = {}
        self._schedule: list[tuple[float, int, _Lease]] = []
        self._tickets = itertools.count(1)
        self._wake_at = math.inf
        self._changed = trio.Event()

    def hold(self, task: Task) -> None:
        """Start renewing ``task``'s lease (nothing when it has no response timeout)."""
        if task.response_timeout_seconds <= 0:
            return
        # Nothing is encoded here: nearly every task is released before its first renewal.
        lease = _Lease(task.task_id, task.workflow_instance_id, task.response_timeout_seconds / 2)
        self._leases[task.task_id] = lease
        self._schedule_at(lease, trio.current_time() + lease.interval)

    def release(self, task: Task) -> None:
        """Stop renewing ``task``'s lease (a renewal in flight still completes)."""
        self._leases.pop(task.task_id, None)
        # Entries of released leases are dropped when they come due; compact when they
        # outnumber the live ones, so a fast stream of short tasks keeps the heap small.
        if len(self._schedule) > 64 and len(self._schedule) > 4 * len(self._leases):
            self._schedule = [e for e in self._schedule if self._is_current(e[2], e[1])]
            heapq.heapify(self._schedule)

    @property
    def held(self) -> int:
        return len(self._leases)

    def _is_current(self, lease: _Lease, ticket: int) -> bool:
        return lease.ticket == ticket and self._leases.get(lease.task_id) is lease

    def _schedule_at(self, lease: _Lease, when: float) -> None:
        lease.ticket = next(self._tickets)
        heapq.heappush(self._schedule, (when, lease.ticket, lease))
        if when < self._wake_at:
            self._changed.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as renewals:
            task_status.started()
            while True:
                now = trio.current_time()
                while self._schedule and self._schedule[0][0] <= now:
                    _, ticket, lease = heapq.heappop(self._schedule)
                    if self._is_current(lease, ticket):
                        lease.ticket = 0  # in flight: _renew schedules the next one
                        renewals.start_soon(self._renew, lease)
                self._wake_at = self._schedule[0][0] if self._schedule else math.inf
                if self._changed.is_set():
                    self._changed = trio.Event()
                with trio.move_on_at(self._wake_at):
                    await self._changed.wait()

    async def _renew(self, lease: _Lease) -> None:
        body = encode_result(
            TaskResult(
                task_id=lease.task_id,
                status=TaskResultStatus.IN_PROGRESS,
                workflow_instance_id=lease.workflow_id,
                worker_id=self._worker_id,
                extend_lease=True,
            )
        )
        about = about_task(self._agent_id, lease.task_id, lease.workflow_id)
        try:
            await self._client.update_json(body)
        except RequestRejected as exc:
            self._measures.renewed(exc)
            log.warning(
                "%s: task %s lost its lease: %s", self._agent, lease.task_id, exc, extra=about
            )
            return
        except ConductorError as exc:
            self._measures.renewed(exc)
            wait = max(RETRY_FLOOR_S, lease.interval / 4)
            log.warning(
                "%s: cannot renew the lease of task %s: %s",
                self._agent,
                lease.task_id,
                exc,
                extra=about,
            )
        else:
            self._measures.renewed()
            wait = lease.interval
            log.debug("%s: renewed the lease of task %s", self._agent, lease.task_id, extra=about)
        if self._leases.get(lease.task_id) is lease:
            self._schedule_at(lease, trio.current_time() + wait)
