"""The task engine: Conductor's task semantics over the SQLite store.

What it guarantees, restart or not:

- a polled task is leased for its ``responseTimeoutSeconds``; with no update by then it is
  marked ``TIMED_OUT`` and retried as a new attempt (a new task id, ``retryCount + 1``);
- an ``IN_PROGRESS`` update renews the lease; with ``callbackAfterSeconds`` it hands the
  task back to its queue for that long instead;
- ``FAILED`` is retried until ``max_attempts`` attempts in all, ``FAILED_WITH_TERMINAL_ERROR``
  never; the workflow's status follows its task (:mod:`._results`);
- an update for an attempt that already ended is ignored, as Conductor does, so a
  worker that lost its lease cannot complete a task twice;
- every change is decided inside the transaction that makes it, by a statement
  guarded by the state it expects (see :mod:`._changes`): a completion and the expiry of
  its lease can race, and whichever commits first wins; the other changes nothing, so
  an accepted completion is never undone and a timed-out task never gets a late output.

Its database services run in :meth:`TaskEngine.run`, each under its own name: the group
commit (:mod:`._commits`), the WAL checkpointer (:mod:`._checkpoints`) and the deadline
timer (:mod:`._timer`). Long polls wait on their queue (:mod:`._queues`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable

import attrs
import trio

from .._errors import UserAgentError
from ..models import JsonObject, Task, TaskExecLog, TaskResult, TaskResultStatus, Workflow
from . import _changes as changes
from ._changes import NewTask
from ._checkpoints import Checkpointer
from ._commits import GroupCommit
from ._definitions import Definitions
from ._measures import ServerMeasures
from ._queues import Queue, QueueSignals
from ._records import TaskAttempt, WorkflowSummary
from ._results import Wakeups, after_failure, apply_result
from ._settings import TaskSettings
from ._store import Store
from ._timer import DeadlineTimer
from ._views import task_logs, task_model, workflow_model

log = logging.getLogger("user_agent_sdk.server")


def epoch_ms() -> int:
    """Wall-clock time in epoch milliseconds, the unit of every timestamp on the wire."""
    return time.time_ns() // 1_000_000


@attrs.frozen
class Submission:
    """A request to start a one-task workflow."""

    workflow_name: str
    task_type: str
    input: JsonObject
    correlation_id: str | None = None
    priority: int = 0
    domain: str = ""
    settings: TaskSettings | None = None
    """Overrides the registered task definition and the server defaults."""


_FROM_SUBMISSION = ("task_type", "domain", "input", "correlation_id", "priority")
"""What a workflow's first task takes from its submission as it is."""

_EXPIRY_BATCH = 500
_DEFAULTS = TaskSettings()


class TaskNotFound(LookupError, UserAgentError):
    """No task has that id."""


class DuplicateResult(ValueError, UserAgentError):
    """A batch holds two results for one task."""


class TaskEngine:
    """Conductor task semantics over a :class:`Store`; one per server."""

    def __init__(
        self,
        store: Store,
        defaults: TaskSettings = _DEFAULTS,
        clock: Callable[[], int] = epoch_ms,
    ) -> None:
        self._store = store
        self._checkpoints = (
            None if store.path == ":memory:" else Checkpointer(store.path, store.connection)
        )
        self.measures = ServerMeasures()
        self._writes = GroupCommit(
            store.connection,
            after_commit=None if self._checkpoints is None else self._checkpoints.committed,
            commit_time=self.measures.commit_time,
        )
        self.definitions = Definitions(store, self._writes, defaults)
        self._clock = clock
        self._queues = QueueSignals()
        self._timer = DeadlineTimer(clock, self._run_due)
        self._wakeups = Wakeups(work_visible=self._queues.notify, deadline=self._timer.wake_by)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the engine's database services until cancelled; start it with ``nursery.start``.

        Must run for the engine's whole life. ``start`` returns once the group commit,
        the WAL checkpointer (for a file) and the deadline timer are running, and a lease
        that ran out while the server was down has started over (its worker could not
        renew it, nor post its result, meanwhile); delayed tasks due meanwhile appear
        at once. On cancellation every write that was applied is committed.
        """
        async with trio.open_nursery() as services:
            if self._checkpoints is not None:
                await services.start(self._checkpoints.run, name="WAL checkpointer")
            await services.start(self._writes.run, name="group commit")
            await self._restart_overdue_leases()
            await services.start(self._timer.run, name="deadline timer")
            task_status.started()

    async def _restart_overdue_leases(self) -> None:
        # Each starts over rather than timing out a task whose worker is most likely
        # about to report it.
        now = self._clock()
        restarted = await self._writes.write(lambda db: changes.restart_leases(db, now))
        if restarted:
            log.info("%d leases ran out while the server was down; each starts over", restarted)

    async def _run_due(self, since: int, now: int) -> int | None:
        """The deadline timer's work: what fell due in ``(since, now]``; the next deadline."""
        await self._expire_leases(now)
        for queue in self._store.queues_revealed(since, now):
            self._queues.notify(queue)
        return self._store.next_due(after=now)

    async def expire_leases(self) -> None:
        """End every attempt whose lease has run out by the engine's clock, now.

        The deadline timer does this on time by itself; this is for a program, or a
        test, that moves the clock.
        """
        await self._expire_leases(self._clock())

    async def _expire_leases(self, now: int) -> None:
        # A few hundred per write keeps one transaction from holding the loop for long
        # when thousands of leases run out together.
        while True:
            expired = await self._writes.write(lambda db: self._expire_some(db, now))
            for attempt in expired:
                self.measures.timed_out[attempt.task_type] += 1
            if len(expired) < _EXPIRY_BATCH:
                return

    def _expire_some(self, db: sqlite3.Connection, now: int) -> list[TaskAttempt]:
        expired = changes.expire_leases(db, now, _EXPIRY_BATCH)
        for attempt in expired:
            log.info(
                "lease of task %s (%s) ran out; %s", attempt.id, attempt.task_type, attempt.reason
            )
            after_failure(db, attempt, now, self._wakeups)
        return expired

    # -- starting work -------------------------------------------------------------

    async def start_workflow(self, submission: Submission) -> str:
        """Record a workflow and queue its task; returns the workflow id once durable."""
        now = self._clock()
        settings = submission.settings or self.definitions.settings_for(submission.task_type)
        workflow_id = str(uuid.uuid4())
        task = NewTask(
            id=str(uuid.uuid4()),
            workflow_id=workflow_id,
            workflow_type=submission.workflow_name,
            ref_name=submission.task_type,
            visible_at=now,
            settings=settings,
            **{name: getattr(submission, name) for name in _FROM_SUBMISSION},
        )

        def insert(db: sqlite3.Connection) -> None:
            changes.insert_workflow(
                db,
                id=workflow_id,
                name=submission.workflow_name,
                input=submission.input,
                correlation_id=submission.correlation_id,
                priority=submission.priority,
                now=now,
            )
            changes.insert_task(db, task, now)
            self._queues.notify((submission.task_type, submission.domain))

        await self._writes.write(insert)
        self.measures.workflows_started[submission.workflow_name] += 1
        return workflow_id

    # -- leasing -------------------------------------------------------------------

    async def poll(
        self,
        task_type: str,
        *,
        worker_id: str | None,
        domain: str = "",
        count: int = 1,
        timeout_ms: int = 0,
    ) -> list[TaskAttempt]:
        """Lease up to ``count`` tasks of ``task_type``, waiting up to ``timeout_ms`` for one.

        Answers as soon as at least one task is available. If cancelled while waiting,
        nothing has been leased.
        """
        queue = (task_type, domain)
        deadline = trio.current_time() + timeout_ms / 1000
        while True:
            now = self._clock()
            leased = await self._writes.write(
                lambda db: changes.claim(db, queue, count, worker_id, now)  # noqa: B023
            )
            self._count_leased(task_type, leased, now)
            if leased or trio.current_time() >= deadline:
                return leased
            await self._queues.wait(queue, deadline)

    def release(self, attempts: Iterable[TaskAttempt]) -> None:
        """Give leased tasks back to their queue (the answer that leased them never arrived).

        Only the leases these attempts were handed out with: a task updated, timed out or
        leased again since is left as it is.
        """
        attempts = list(attempts)
        leases, now = [attempt.lease for attempt in attempts], self._clock()
        self._writes.write_nowait(lambda db: changes.release(db, leases, now))
        for queue in {attempt.queue for attempt in attempts}:
            self._queues.notify(queue)

    def still_leased(self, leases: Iterable[tuple[str, int]]) -> list[TaskAttempt]:
        """The tasks of ``leases`` (task id, poll count) that those leases still hold."""
        return self._store.leased_as(list(leases))

    def _count_leased(self, task_type: str, leased: list[TaskAttempt], now: int) -> None:
        self.measures.leased[task_type] += len(leased)
        if leased:
            self._timer.wake_by(min(attempt.lease_until or now for attempt in leased))

    # -- results -------------------------------------------------------------------

    async def update(self, result: TaskResult) -> bool:
        """Apply a worker's result; True if it changed the task, False if it was ignored.

        Raises :class:`TaskNotFound` for an unknown id. A result for an attempt that has
        already ended (completed, failed, timed out) changes nothing, however close the
        two came: the check and the change are one statement.
        """
        now = self._clock()

        def apply(db: sqlite3.Connection) -> tuple[Queue, bool]:
            found = apply_result(self._store, db, result, now, self._wakeups)
            if found is None:
                raise TaskNotFound(result.task_id)
            return found

        (task_type, _), changed = await self._writes.write(apply)
        if changed:
            self._count_result(task_type, result.status)
        return changed

    async def update_and_poll(self, result: TaskResult) -> TaskAttempt | None:
        """:meth:`update`, then lease the next task of the same queue to the same worker.

        One write for both, so it costs one commit wait, not two. Returns the task
        leased, None when the queue is empty; this never waits for one. Raises
        :class:`TaskNotFound` (nothing changed) for an unknown id.
        """
        now = self._clock()

        def apply_and_claim(db: sqlite3.Connection) -> tuple[Queue, bool, list[TaskAttempt]]:
            found = apply_result(self._store, db, result, now, self._wakeups)
            if found is None:
                raise TaskNotFound(result.task_id)
            queue, changed = found
            return queue, changed, changes.claim(db, queue, 1, result.worker_id, now)

        (task_type, _), changed, leased = await self._writes.write(apply_and_claim)
        if changed:
            self._count_result(task_type, result.status)
        self._count_leased(task_type, leased, now)
        return leased[0] if leased else None

    async def update_batch(
        self,
        results: list[TaskResult],
        queue: Queue,
        *,
        count: int,
        worker_id: str | None,
    ) -> tuple[list[str], list[TaskAttempt]]:
        """Apply several results, then lease up to ``count`` tasks of ``queue``: one write.

        Returns the ids of results whose task is unknown (those change nothing) and the
        tasks leased. Each result means what it means to :meth:`update`; a task id may
        appear once per batch (:class:`DuplicateResult` otherwise, before anything changes).
        """
        seen: set[str] = set()
        for result in results:
            if result.task_id in seen:
                raise DuplicateResult(f"task {result.task_id!r} has two results in this batch")
            seen.add(result.task_id)
        now = self._clock()
        changed: list[tuple[str, TaskResultStatus]] = []

        def apply_and_claim(db: sqlite3.Connection) -> tuple[list[str], list[TaskAttempt]]:
            changed.clear()
            unknown: list[str] = []
            for result in results:
                found = apply_result(self._store, db, result, now, self._wakeups)
                if found is None:
                    unknown.append(result.task_id)
                elif found[1]:
                    changed.append((found[0][0], result.status))
            if count <= 0:
                return unknown, []
            return unknown, changes.claim(db, queue, count, worker_id, now)

        unknown, leased = await self._writes.write(apply_and_claim)
        for task_type, status in changed:
            self._count_result(task_type, status)
        self._count_leased(queue[0], leased, now)
        return unknown, leased

    def _count_result(self, task_type: str, status: TaskResultStatus) -> None:
        """A committed result that changed its task."""
        if status is TaskResultStatus.COMPLETED:
            self.measures.completed[task_type] += 1
        elif status is not TaskResultStatus.IN_PROGRESS:
            self.measures.failed[task_type, status.value] += 1

    # -- logs and reads --------------------------------------------------------------

    async def add_log(self, task_id: str, text: str) -> None:
        """Append one log line to a task; raises :class:`TaskNotFound`."""
        if self._store.task_state(task_id) is None:
            raise TaskNotFound(task_id)
        line = (text, self._clock())
        await self._writes.write(lambda db: changes.add_logs(db, task_id, [line]))

    def logs(self, task_id: str) -> list[TaskExecLog]:
        """The task's log lines, oldest first ([] for an unknown id, as Conductor does)."""
        return task_logs(task_id, self._store.logs(task_id))

    def task(self, task_id: str) -> Task | None:
        attempt = self._store.get_task(task_id)
        return None if attempt is None else task_model(attempt)

    def workflow(self, workflow_id: str, *, include_tasks: bool = True) -> Workflow | None:
        record = self._store.get_workflow(workflow_id)
        if record is None:
            return None
        tasks = self._store.workflow_tasks(workflow_id) if include_tasks else []
        return workflow_model(record, tasks)

    def workflow_summary(
        self, workflow_id: str, *, include_output: bool = False
    ) -> WorkflowSummary | None:
        """Where the workflow stands, read without its input: what a client waiting for
        it asks again and again, whatever the size of the input."""
        return self._store.workflow_summary(workflow_id, with_output=include_output)

    def tasks_by_state(self) -> tuple[dict[str, int], dict[str, int]]:
        """Tasks waiting in a queue, and tasks leased now, by task type."""
        return self._store.tasks_by_state()

    def database_sizes(self) -> tuple[int, int]:
        """Bytes of the database file and of its write-ahead log."""
        return self._store.file_sizes()

    def queue_size(self, task_type: str) -> int:
        return self._store.queue_size(task_type)
