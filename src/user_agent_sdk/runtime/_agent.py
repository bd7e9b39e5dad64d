"""One agent's part of the nursery tree: a poller, its worker slots and a result sender.

::

    agent runner
    ├── result sender nursery      one delivery task per result, retried until delivered
    ├── lease keeper               renews the lease of every task running past half of it
    └── work nursery
        ├── poller                 asks for exactly as many tasks as there are idle slots
        └── per slot               a task's handler (async: right here; sync: in a worker
                                   thread) in a cancel scope (its shutdown deadline); then
                                   its result, posted with update-v2 where the server has it,
                                   whose answer is the slot's next task

Posting the result from the slot and taking the next task from that answer halves the
requests per task on a busy queue. A post that fails goes to the result sender, which
retries it without holding the slot.
"""

from __future__ import annotations

import logging
import math
import time

import attrs
import trio

from ..conductor import (
    AuthenticationError,
    ConductorClient,
    ConductorError,
    Task,
    TaskResult,
    TaskResultStatus,
)
from ._backoff import Backoff
from ._invoke import Agent, clean_input, invoke, platform_ids
from ._leases import LeaseKeeper
from ._logs import TaskLogger
from ._observer import ExecutionObserver, ExecutionRecord
from ._outcome import Outcome, encode, task_result, unserializable
from ._sender import ResultSender
from ._slots import Slots

log = logging.getLogger("user_agent_sdk.runtime")

LONG_POLL_MS = 1000
"""The longest a batch poll may wait on the server for work (less when the agent's
``poll_interval`` is shorter). The server answers as soon as work arrives, so this only
bounds how often an idle worker asks, and how long a stop waits for the poll in flight."""
FIRST_IDLE_WAIT_S = 0.01
"""After an empty answer the next poll waits this long, doubling up to ``poll_interval``."""
POLL_RETRY_FIRST_S = 0.25
POLL_RETRY_LIMIT_S = 30.0
FINAL_SEND_S = 10.0
"""After a stop, how long results still being retried may take to reach the server."""
HAND_BACK_AFTER_S = 1
"""A task polled while stopping goes back to its queue, visible again after this long."""


@attrs.define
class AgentStats:
    """Counts of finished tasks, by how they ended."""

    completed: int = 0
    failed: int = 0
    failed_terminal: int = 0
    handed_back: int = 0

    def count(self, status: TaskResultStatus) -> None:
        match status:
            case TaskResultStatus.COMPLETED:
                self.completed += 1
            case TaskResultStatus.FAILED:
                self.failed += 1
            case TaskResultStatus.FAILED_WITH_TERMINAL_ERROR:
                self.failed_terminal += 1
            case TaskResultStatus.IN_PROGRESS:
                self.handed_back += 1


class AgentRunner:
    """Serves one agent until :meth:`stop` has drained it (or :meth:`abort`)."""

    def __init__(
        self,
        agent: Agent,
        client: ConductorClient,
        observer: ExecutionObserver | None = None,
    ) -> None:
        self.agent = agent
        self.stats = AgentStats()
        self._client = client
        self._observer = observer
        self._name = agent.spec.name
        self._slots = Slots(agent.workers)
        self._threads = trio.CapacityLimiter(agent.workers)
        self._stopping = False
        self._deadline = math.inf
        self._task_scopes: set[trio.CancelScope] = set()
        self._running = 0
        self._poller_scope = trio.CancelScope()
        self._request_scope: trio.CancelScope | None = None
        self._work: trio.Nursery | None = None
        self._sender: ResultSender | None = None
        self._leases = LeaseKeeper(client, agent.worker_id, agent.spec.name)

    @property
    def running(self) -> int:
        """Tasks whose handler is running right now."""
        return self._running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll and run tasks until stopped; returns once every result is delivered."""
        async with trio.open_nursery() as send_nursery:
            self._sender = ResultSender(
                self._client,
                send_nursery,
                concurrency=max(8, self.agent.workers),
                agent=self._name,
            )
            async with trio.open_nursery() as keeper:
                await keeper.start(self._leases.run)
                async with trio.open_nursery() as work:
                    self._work = work
                    work.start_soon(self._poll_loop)
                    task_status.started()
                keeper.cancel_scope.cancel()
            # Stopped and drained: the last results get a bounded time to get through.
            send_nursery.cancel_scope.deadline = trio.current_time() + FINAL_SEND_S
        if self._sender.lost:
            log.error(
                "%s: %d results could not be delivered; the server hands those tasks out "
                "again when their lease runs out: %s",
                self._name,
                len(self._sender.lost),
                ", ".join(self._sender.lost),
            )

    def stop(self, deadline: float) -> None:
        """Stop polling; tasks still running at ``deadline`` (trio time) are cancelled."""
        self._stopping = True
        self._poller_scope.cancel()
        self._deadline = min(self._deadline, deadline)
        for scope in self._task_scopes:
            scope.deadline = min(scope.deadline, self._deadline)

    def abort(self) -> None:
        """Give up at once, including a poll in flight (whose tasks the server times out)."""
        self.stop(-math.inf)
        if self._request_scope is not None:
            self._request_scope.cancel()

    # -- polling -----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        interval_ms = self.agent.spec.poll_interval_ms
        idle = Backoff(first=FIRST_IDLE_WAIT_S, limit=max(interval_ms / 1000, FIRST_IDLE_WAIT_S))
        long_poll_ms = min(interval_ms, LONG_POLL_MS)
        errors = Backoff(first=POLL_RETRY_FIRST_S, limit=POLL_RETRY_LIMIT_S, jitter=True)
        busy = True
        last_error = ""
        with self._poller_scope:
            # The poll itself is shielded and may be followed by no checkpoint, so the
            # flag, not only the cancellation, ends the loop.
            while not self._stopping:
                available = await self._slots.wait_idle()
                # A single-poll server costs one request per task asked for: while the
                # queue is empty, one probe at a time is enough.
                width = available if busy or self._client.flavour.batch_poll else 1
                started = trio.current_time()
                try:
                    tasks = await self._poll(width, long_poll_ms)
                except ConductorError as exc:
                    wait = errors.next()
                    last_error = self._poll_failed(exc, wait, errors.failures, last_error)
                    await trio.sleep(wait)
                    continue
                if errors.failures:
                    log.info("%s: polling again after %d failed polls", self._name, errors.failures)
                    errors.reset()
                    last_error = ""
                for task in tasks:
                    self._dispatch(task)
                busy = bool(tasks)
                if busy:
                    idle.reset()
                else:
                    await trio.sleep(max(0.0, idle.next() - (trio.current_time() - started)))

    async def _poll(self, width: int, long_poll_ms: int) -> list[Task]:
        """Poll for ``width`` tasks holding that many slots; a stop lets it finish."""
        self._slots.take(width)
        tasks: list[Task] = []
        try:
            # Shielded from stop(): a poll cut short may already have leased tasks that
            # would then sit unseen until their lease ran out. abort() cancels it anyway.
            with trio.CancelScope(shield=True) as self._request_scope:
                tasks = await self._client.poll(
                    self.agent.agent_id,
                    count=width,
                    worker_id=self.agent.worker_id,
                    domain=self.agent.spec.domain,
                    timeout_ms=long_poll_ms,
                )
        finally:
            self._request_scope = None
            self._slots.give(width - len(tasks))
        return tasks

    def _poll_failed(self, exc: ConductorError, wait: float, failures: int, last: str) -> str:
        message = str(exc)
        if failures == 1 or message != last:
            level = logging.ERROR if isinstance(exc, AuthenticationError) else logging.WARNING
            log.log(level, "%s: cannot poll: %s; retrying in %.1f s", self._name, message, wait)
        else:
            log.debug("%s: poll %d failed: %s", self._name, failures, message)
        return message

    def _dispatch(self, task: Task) -> None:
        assert self._work is not None
        assert self._sender is not None
        if self._stopping:
            self._slots.give(1)
            self._hand_back(task)
            return
        self._work.start_soon(self._run_slot, task)

    def _hand_back(self, task: Task) -> None:
        """Return a task polled while stopping to its queue."""
        assert self._work is not None
        assert self._sender is not None
        back = TaskResult(
            task_id=task.task_id,
            status=TaskResultStatus.IN_PROGRESS,
            workflow_instance_id=task.workflow_instance_id,
            worker_id=self.agent.worker_id,
            callback_after_seconds=HAND_BACK_AFTER_S,
        )
        self.stats.count(back.status)
        log.debug("%s: stopping, handing task %s back", self._name, task.task_id)
        self._work.start_soon(self._sender.send, back)

    # -- one task ------------------------------------------------------------------------

    async def _run_slot(self, task: Task) -> None:
        """Run ``task``, then each next task its result's answer brings, in one slot."""
        next_task: Task | None = task
        try:
            while next_task is not None:
                next_task = await self._run_task(next_task)
                if next_task is not None and self._stopping:
                    self._hand_back(next_task)
                    next_task = None
        finally:
            self._slots.give(1)

    async def _run_task(self, task: Task) -> Task | None:
        """Run one task and post its result; returns the next task when the answer had one."""
        assert self._sender is not None
        started = time.time()
        logger = TaskLogger(self._name, task.task_id, self.agent.task_log_level)
        outcome: Outcome | None = None
        with trio.CancelScope(deadline=self._deadline) as scope:
            self._task_scopes.add(scope)
            self._running += 1
            self._leases.hold(task)
            try:
                outcome = await invoke(self.agent, task, logger, self._threads)
            finally:
                self._leases.release(task)
                self._running -= 1
                self._task_scopes.discard(scope)
        if outcome is None:
            outcome = Outcome.failed(
                "the worker stopped before the task finished (its shutdown grace ran out); "
                "the server hands the task out again"
            )
        result, body = self._encode(task, outcome, logger)
        self.stats.count(result.status)
        self._report(task, result, started)
        if self._stopping or not self._client.updates_lease_next:
            await self._sender.send(result, body)
            return None
        try:
            return await self._client.update_and_poll(body)
        except ConductorError:
            await self._sender.send(result, body)  # retried there, off this slot
            return None

    def _encode(self, task: Task, outcome: Outcome, logger: TaskLogger) -> tuple[TaskResult, bytes]:
        lines = list(logger.lines)
        result = task_result(task, self.agent.worker_id, outcome, lines)
        try:
            return result, encode(result)
        except (TypeError, ValueError) as exc:
            result = task_result(task, self.agent.worker_id, unserializable(exc, self._name), lines)
            return result, encode(result)

    def _report(self, task: Task, result: TaskResult, started: float) -> None:
        ended = time.time()
        if result.status is TaskResultStatus.COMPLETED:
            log.debug(
                "%s: task %s completed in %.0f ms",
                self._name,
                task.task_id,
                (ended - started) * 1e3,
            )
        else:
            log.warning(
                "%s: task %s (attempt %d) %s: %s",
                self._name,
                task.task_id,
                task.attempt,
                result.status.value,
                result.reason_for_incompletion,
            )
        if self._observer is None:
            return
        platform_task_id, platform_agent_id = platform_ids(task)
        record = ExecutionRecord(
            agent_name=self._name,
            agent_id=self.agent.agent_id,
            task_id=task.task_id,
            workflow_instance_id=task.workflow_instance_id,
            attempt=task.attempt,
            platform_task_id=platform_task_id,
            platform_agent_id=platform_agent_id,
            started_at=started,
            ended_at=ended,
            status=result.status,
            input_data=clean_input(task.input_data),
            output_data=result.output_data,
            reason=result.reason_for_incompletion,
        )
        try:
            self._observer(record)
        except Exception:
            log.exception("%s: the execution observer failed on task %s", self._name, task.task_id)
