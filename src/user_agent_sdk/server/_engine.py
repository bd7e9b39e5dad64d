"""The task engine: Conductor's task semantics over the SQLite store.

What it guarantees, restart or not:

- a polled task is leased for its ``responseTimeoutSeconds``; with no update by then it is
  marked ``TIMED_OUT`` and retried as a new attempt (a new task id, ``retryCount + 1``);
- an ``IN_PROGRESS`` update renews the lease; with ``callbackAfterSeconds`` it hands the
  task back to its queue for that long instead;
- ``FAILED`` is retried until ``max_attempts`` attempts in all, ``FAILED_WITH_TERMINAL_ERROR``
  never; the workflow's status follows its task;
- an update for an attempt that already ended is ignored, as Conductor does, so a
  worker that lost its lease cannot complete a task twice;
- every change is decided inside the transaction that makes it, by a statement
  guarded by the state it expects (see :mod:`._store`): a completion and the expiry of
  its lease can race, and whichever commits first wins; the other changes nothing, so
  an accepted completion is never undone and a timed-out task never gets a late output.

Long polls wait on a per-queue event that is set whenever work becomes visible in that
queue; one timer task owns every deadline (leases running out, delayed tasks appearing).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable

import attrs
import trio

from .._errors import UserAgentError
from ..models import (
    JsonObject,
    Task,
    TaskDef,
    TaskExecLog,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    Workflow,
    WorkflowStatus,
    from_json_obj,
    to_json_obj,
)
from ._checkpoints import Checkpointer
from ._commits import CommitFailed, GroupCommit
from ._measures import ServerMeasures
from ._store import NewTask, Store, TaskRow, WorkflowRow, WorkflowSummary

log = logging.getLogger("user_agent_sdk.server")

Queue = tuple[str, str]
"""A queue is a task type and a domain ('' for none)."""


def epoch_ms() -> int:
    """Wall-clock time in epoch milliseconds, the unit of every timestamp on the wire."""
    return time.time_ns() // 1_000_000


@attrs.frozen
class TaskSettings:
    """How one task type is leased and retried."""

    response_timeout_s: int = 60
    max_attempts: int = 3
    """Attempts in all, the first one included."""
    retry_delay_s: int = 0

    @classmethod
    def from_task_def(cls, task_def: TaskDef) -> TaskSettings:
        return cls(
            response_timeout_s=task_def.response_timeout_seconds,
            max_attempts=task_def.retry_count + 1,
            retry_delay_s=task_def.retry_delay_seconds,
        )


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


_EXPIRY_BATCH = 500


class TaskNotFound(LookupError, UserAgentError):
    """No task has that id."""


class DuplicateResult(ValueError, UserAgentError):
    """A batch holds two results for one task."""


class TaskEngine:
    """Conductor task semantics over a :class:`Store`; one per server."""

    def __init__(
        self,
        store: Store,
        defaults: TaskSettings = TaskSettings(),
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
        self._defaults = defaults
        self._clock = clock
        self._waiters: dict[Queue, trio.Event] = {}
        self._timer_kick = trio.Event()
        self._timer_due: float = math.inf

    # -- the timer ---------------------------------------------------------------

    async def run_timers(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Expire leases and reveal delayed tasks on time, until cancelled.

        Must run for the engine's whole life (start it in the server's nursery): the
        group commit and the WAL checkpoints run beside it. On start, a lease that ran out
        while the server was down starts over (its worker could not renew it, nor post
        its result, meanwhile); delayed tasks due meanwhile appear at once.
        """
        async with trio.open_nursery() as nursery:
            if self._checkpoints is not None:
                await nursery.start(self._checkpoints.run)
            await nursery.start(self._writes.run)
            await self._restart_overdue_leases()
            task_status.started()
            await self._run_timers()

    async def _restart_overdue_leases(self) -> None:
        # Leases that ran out while the server was down could not have been renewed, nor
        # their results posted: each starts over now, rather than timing out tasks whose
        # workers are most likely about to report them.
        now = self._clock()
        restarted = await self._writes.write(lambda db: self._store.restart_leases(db, now))
        if restarted:
            log.info("%d leases ran out while the server was down; each starts over", restarted)

    async def _run_timers(self) -> None:
        revealed_until = -1
        while True:
            now = self._clock()
            try:
                await self._expire_leases(now)
                for queue in self._store.queues_revealed(revealed_until, now):
                    self._notify(queue)
                revealed_until = now
                due = self._store.next_due(after=now)
            except (sqlite3.Error, CommitFailed) as exc:
                # A locked or full database must not stop the server; try again shortly.
                log.error("timers: %s; retrying in 1 s", exc)  # noqa: TRY400
                due = now + 1000
            self._timer_due = math.inf if due is None else due
            self._timer_kick = trio.Event()
            with trio.move_on_after(math.inf if due is None else (due - now) / 1000):
                await self._timer_kick.wait()

    def _wake_timer_by(self, due: int) -> None:
        if due < self._timer_due:
            self._timer_due = due
            self._timer_kick.set()

    def _notify(self, queue: Queue) -> None:
        event = self._waiters.pop(queue, None)
        if event is not None:
            event.set()

    async def expire_leases(self) -> None:
        """End every attempt whose lease has run out by the engine's clock, now.

        The timer (:meth:`run_timers`) does this on time by itself; this is for a
        program, or a test, that moves the clock.
        """
        await self._expire_leases(self._clock())

    async def _expire_leases(self, now: int) -> None:
        # A few hundred per write keeps one transaction from holding the loop for long
        # when thousands of leases run out together.
        while True:
            expired = await self._writes.write(lambda db: self._expire_some(db, now))
            for row in expired:
                self.measures.timed_out[row.task_type] += 1
            if len(expired) < _EXPIRY_BATCH:
                return

    def _count_result(self, task_type: str, status: TaskResultStatus) -> None:
        """A committed result that changed its task."""
        if status is TaskResultStatus.COMPLETED:
            self.measures.completed[task_type] += 1
        elif status is not TaskResultStatus.IN_PROGRESS:
            self.measures.failed[task_type, status.value] += 1

    def _expire_some(self, db: sqlite3.Connection, now: int) -> list[TaskRow]:
        rows = self._store.expire_leases(db, now, _EXPIRY_BATCH)
        for row in rows:
            log.info("lease of task %s (%s) ran out; %s", row.id, row.task_type, row.reason)
            self._after_failure(db, row, now)
        return rows

    # -- starting work -------------------------------------------------------------

    async def start_workflow(self, submission: Submission) -> str:
        """Record a workflow and queue its task; returns the workflow id once durable."""
        now = self._clock()
        settings = submission.settings or self.settings_for(submission.task_type)
        workflow_id = str(uuid.uuid4())

        def insert(db: sqlite3.Connection) -> None:
            self._store.insert_workflow(
                db,
                id=workflow_id,
                name=submission.workflow_name,
                version=1,
                input=submission.input,
                correlation_id=submission.correlation_id,
                priority=submission.priority,
                now=now,
            )
            self._store.insert_task(
                db,
                NewTask(
                    id=str(uuid.uuid4()),
                    workflow_id=workflow_id,
                    workflow_type=submission.workflow_name,
                    task_type=submission.task_type,
                    ref_name=submission.task_type,
                    domain=submission.domain,
                    input=submission.input,
                    max_attempts=settings.max_attempts,
                    retry_delay_s=settings.retry_delay_s,
                    response_timeout_s=settings.response_timeout_s,
                    correlation_id=submission.correlation_id,
                    priority=submission.priority,
                    visible_at=now,
                ),
                now,
            )
            self._notify((submission.task_type, submission.domain))

        await self._writes.write(insert)
        self.measures.workflows_started[submission.workflow_name] += 1
        return workflow_id

    def settings_for(self, task_type: str) -> TaskSettings:
        """The registered task definition's settings, else the server's defaults."""
        definition = self._store.get_definition("task", task_type)
        if definition is None:
            return self._defaults
        return TaskSettings.from_task_def(from_json_obj(definition, TaskDef))

    # -- polling -------------------------------------------------------------------

    async def poll(
        self,
        task_type: str,
        *,
        worker_id: str | None,
        domain: str = "",
        count: int = 1,
        timeout_ms: int = 0,
    ) -> list[TaskRow]:
        """Lease up to ``count`` tasks of ``task_type``, waiting up to ``timeout_ms`` for one.

        Answers as soon as at least one task is available. If cancelled while waiting,
        nothing has been leased.
        """
        queue = (task_type, domain)
        deadline = trio.current_time() + timeout_ms / 1000
        while True:
            rows = await self._claim(queue, count, worker_id)
            if rows or trio.current_time() >= deadline:
                return rows
            event = self._waiters.setdefault(queue, trio.Event())
            with trio.move_on_at(deadline):
                await event.wait()

    def release(self, rows: Iterable[TaskRow]) -> None:
        """Give leased tasks back to their queue (the answer that leased them never arrived).

        Only the leases these rows were handed out with: a task updated, timed out or
        leased again since is left as it is.
        """
        rows = list(rows)
        leases, now = [(row.id, row.poll_count) for row in rows], self._clock()
        self._writes.write_nowait(lambda db: self._store.release(db, leases, now))
        for queue in {(row.task_type, row.domain) for row in rows}:
            self._notify(queue)

    def still_leased(self, leases: Iterable[tuple[str, int]]) -> list[TaskRow]:
        """The tasks of ``leases`` (task id, poll count) that those leases still hold."""
        return self._store.leased_as(list(leases))

    async def _claim(self, queue: Queue, count: int, worker_id: str | None) -> list[TaskRow]:
        now = self._clock()
        rows = await self._writes.write(
            lambda db: self._store.claim(db, queue[0], queue[1], count, worker_id, now)
        )
        self.measures.leased[queue[0]] += len(rows)
        if rows:
            self._wake_timer_by(min(row.lease_until or now for row in rows))
        return rows

    # -- updates -------------------------------------------------------------------

    async def update(self, result: TaskResult) -> bool:
        """Apply a worker's result; True if it changed the task, False if it was ignored.

        Raises :class:`TaskNotFound` for an unknown id. A result for an attempt that has
        already ended (completed, failed, timed out) changes nothing, however close the
        two came: the check and the change are one statement.
        """

        def apply(db: sqlite3.Connection) -> tuple[Queue, bool]:
            found = self._apply_result(db, result, self._clock())
            if found is None:
                raise TaskNotFound(result.task_id)
            return found

        (task_type, _), changed = await self._writes.write(apply)
        if changed:
            self._count_result(task_type, result.status)
        return changed

    async def update_and_poll(self, result: TaskResult) -> TaskRow | None:
        """:meth:`update`, then lease the next task of the same queue to the same worker.

        One write for both, so it costs one commit wait, not two. Returns the task
        leased, None when the queue is empty; this never waits for one. Raises
        :class:`TaskNotFound` (nothing changed) for an unknown id.
        """
        now = self._clock()

        def apply_and_claim(db: sqlite3.Connection) -> tuple[str, bool, list[TaskRow]]:
            found = self._apply_result(db, result, now)
            if found is None:
                raise TaskNotFound(result.task_id)
            (task_type, domain), changed = found
            claimed = self._store.claim(db, task_type, domain, 1, result.worker_id, now)
            return task_type, changed, claimed

        task_type, changed, claimed = await self._writes.write(apply_and_claim)
        if changed:
            self._count_result(task_type, result.status)
        self.measures.leased[task_type] += len(claimed)
        if not claimed:
            return None
        self._wake_timer_by(min(found.lease_until or now for found in claimed))
        return claimed[0]

    async def update_batch(
        self,
        results: list[TaskResult],
        queue: Queue,
        *,
        count: int,
        worker_id: str | None,
    ) -> tuple[list[str], list[TaskRow]]:
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

        def apply_and_claim(db: sqlite3.Connection) -> tuple[list[str], list[TaskRow]]:
            changed.clear()
            unknown: list[str] = []
            for result in results:
                found = self._apply_result(db, result, now)
                if found is None:
                    unknown.append(result.task_id)
                elif found[1]:
                    changed.append((found[0][0], result.status))
            if count <= 0:
                return unknown, []
            return unknown, self._store.claim(db, queue[0], queue[1], count, worker_id, now)

        unknown, claimed = await self._writes.write(apply_and_claim)
        for task_type, status in changed:
            self._count_result(task_type, status)
        self.measures.leased[queue[0]] += len(claimed)
        if claimed:
            self._wake_timer_by(min(found.lease_until or now for found in claimed))
        return unknown, claimed

    def _apply_result(
        self, db: sqlite3.Connection, result: TaskResult, now: int
    ) -> tuple[Queue, bool] | None:
        """Apply ``result`` inside the open transaction.

        Returns the task's queue and whether the result changed the task; None for an
        unknown task id. Runs as part of a write, so what it reads is what it changes.
        """
        touched = self._change(db, result, now)
        if touched is None:
            state = self._store.task_state(db, result.task_id)
            if state is None:
                return None
            log.info(
                "ignored %s for task %s: the attempt already ended as %s",
                result.status.value,
                result.task_id,
                state.status.value,
            )
            return (state.task_type, state.domain), False
        if result.logs:
            lines = [(line.log, line.created_time or now) for line in result.logs]
            self._store.add_logs(db, result.task_id, lines)
        return touched, True

    def _change(self, db: sqlite3.Connection, result: TaskResult, now: int) -> Queue | None:
        """The guarded change ``result`` asks for; the task's queue, None if nothing changed."""
        store, task_id, output = self._store, result.task_id, result.output_data
        match result.status:
            case TaskResultStatus.IN_PROGRESS if (result.callback_after_seconds or 0) > 0:
                delay = result.callback_after_seconds or 0
                visible_at = now + delay * 1000
                touched = store.requeue(
                    db,
                    task_id,
                    visible_at=visible_at,
                    callback_after_s=delay,
                    output=output,
                    now=now,
                )
                if touched is not None:
                    self._wake_timer_by(visible_at)
            case TaskResultStatus.IN_PROGRESS:
                # A leased task's lease is renewed; one waiting in its queue keeps waiting.
                touched = store.renew_lease(db, task_id, output, now) or store.add_output(
                    db, task_id, output, now
                )
            case TaskResultStatus.COMPLETED:
                touched = store.complete_task(db, task_id, output, now)
                if touched is not None:
                    store.finish_workflow(
                        db,
                        touched.workflow_id,
                        WorkflowStatus.COMPLETED,
                        output=touched.output,
                        reason=None,
                        now=now,
                    )
            case TaskResultStatus.FAILED | TaskResultStatus.FAILED_WITH_TERMINAL_ERROR:
                status = TaskStatus(result.status.value)
                reason = result.reason_for_incompletion or f"the worker reported {status.value}"
                row = store.fail_task(db, task_id, status, output=output, reason=reason, now=now)
                if row is None:
                    return None
                self._after_failure(db, row, now)
                return row.task_type, row.domain
        return None if touched is None else (touched.task_type, touched.domain)

    def _after_failure(self, db: sqlite3.Connection, row: TaskRow, now: int) -> None:
        """After an attempt ended failed or timed out (``row``): retry it, or end its workflow."""
        if not row.retried:
            outcome = (
                WorkflowStatus.TIMED_OUT
                if row.status is TaskStatus.TIMED_OUT
                else WorkflowStatus.FAILED
            )
            self._store.finish_workflow(
                db, row.workflow_id, outcome, output=None, reason=row.reason, now=now
            )
            return
        visible_at = now + row.retry_delay_s * 1000
        self._store.insert_task(
            db,
            NewTask(
                id=str(uuid.uuid4()),
                workflow_id=row.workflow_id,
                workflow_type=row.workflow_type,
                task_type=row.task_type,
                ref_name=row.ref_name,
                domain=row.domain,
                input=row.input,
                max_attempts=row.max_attempts,
                retry_delay_s=row.retry_delay_s,
                response_timeout_s=row.response_timeout_s,
                correlation_id=row.correlation_id,
                priority=row.priority,
                visible_at=visible_at,
                retry_count=row.retry_count + 1,
                retried_task_id=row.id,
            ),
            now,
        )
        if visible_at <= now:
            self._notify((row.task_type, row.domain))
        else:
            self._wake_timer_by(visible_at)

    # -- logs and reads --------------------------------------------------------------

    async def add_log(self, task_id: str, text: str) -> None:
        """Append one log line to a task; raises :class:`TaskNotFound`."""
        if self._store.get_task(task_id) is None:
            raise TaskNotFound(task_id)
        line = (text, self._clock())
        await self._writes.write(lambda db: self._store.add_logs(db, task_id, [line]))

    def logs(self, task_id: str) -> list[TaskExecLog]:
        """The task's log lines, oldest first ([] for an unknown id, as Conductor does)."""
        return [
            TaskExecLog(log=text, task_id=task_id, created_time=created)
            for text, created in self._store.logs(task_id)
        ]

    def task(self, task_id: str) -> Task | None:
        row = self._store.get_task(task_id)
        return None if row is None else task_model(row)

    def workflow(self, workflow_id: str, *, include_tasks: bool = True) -> Workflow | None:
        row = self._store.get_workflow(workflow_id)
        if row is None:
            return None
        tasks = self._store.workflow_tasks(workflow_id) if include_tasks else []
        return _workflow(row, [task_model(task) for task in tasks])

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

    async def register_task_defs(self, definitions: Iterable[TaskDef]) -> None:
        def put(db: sqlite3.Connection) -> None:
            for definition in definitions:
                self._store.put_definition(db, "task", definition.name, to_json_obj(definition))

        await self._writes.write(put)

    async def register_workflow_def(self, name: str, definition: JsonObject) -> None:
        """Store a workflow definition (already checked to be one SIMPLE task)."""
        await self._writes.write(
            lambda db: self._store.put_definition(db, "workflow", name, definition)
        )

    def workflow_def(self, name: str) -> JsonObject | None:
        return self._store.get_definition("workflow", name)

    def task_def(self, name: str) -> TaskDef | None:
        found = self._store.get_definition("task", name)
        return None if found is None else from_json_obj(found, TaskDef)

    def task_defs(self) -> list[TaskDef]:
        return [from_json_obj(found, TaskDef) for found in self._store.definitions("task")]


def task_model(row: TaskRow) -> Task:
    """The task as Conductor's model (see :func:`task_json` for its JSON, the hot path)."""
    return Task(
        task_type=row.task_type,
        status=row.status,
        input_data=row.input,
        reference_task_name=row.ref_name,
        retry_count=row.retry_count,
        seq=row.seq_in_workflow,
        correlation_id=row.correlation_id,
        poll_count=row.poll_count,
        task_def_name=row.task_type,
        scheduled_time=row.scheduled_time,
        start_time=row.start_time,
        end_time=row.end_time,
        update_time=row.update_time,
        retried_task_id=row.retried_task_id,
        retried=row.retried,
        executed=row.status.is_terminal,
        response_timeout_seconds=row.response_timeout_s,
        workflow_instance_id=row.workflow_id,
        workflow_type=row.workflow_type,
        task_id=row.id,
        reason_for_incompletion=row.reason,
        callback_after_seconds=row.callback_after_s,
        worker_id=row.worker_id,
        output_data=row.output,
        workflow_task={
            "name": row.task_type,
            "taskReferenceName": row.ref_name,
            "type": "SIMPLE",
        },
        domain=row.domain or None,
        workflow_priority=row.priority,
        first_start_time=row.first_start_time,
        queue_wait_time=max(0, row.start_time - row.scheduled_time) if row.start_time else 0,
    )


def task_json(row: TaskRow) -> JsonObject:
    """The task as Conductor's JSON: what ``to_json_obj`` makes of :func:`task_model`.

    Written out by hand because every task handed out goes through it: building the
    44-field model and unstructuring it cost the server a tenth of its time per task.
    ``tests/server/test_task_json.py`` holds the two equal.
    """
    data: JsonObject = {
        "taskType": row.task_type,
        "status": row.status.value,
        "inputData": row.input,
        "referenceTaskName": row.ref_name,
        "retryCount": row.retry_count,
        "seq": row.seq_in_workflow,
        "pollCount": row.poll_count,
        "taskDefName": row.task_type,
        "scheduledTime": row.scheduled_time,
        "startTime": row.start_time,
        "endTime": row.end_time,
        "updateTime": row.update_time,
        "startDelayInSeconds": 0,
        "retried": row.retried,
        "executed": row.status.is_terminal,
        "callbackFromWorker": True,
        "responseTimeoutSeconds": row.response_timeout_s,
        "workflowInstanceId": row.workflow_id,
        "workflowType": row.workflow_type,
        "taskId": row.id,
        "callbackAfterSeconds": row.callback_after_s,
        "outputData": row.output,
        "workflowTask": {
            "name": row.task_type,
            "taskReferenceName": row.ref_name,
            "type": "SIMPLE",
        },
        "rateLimitPerFrequency": 0,
        "rateLimitFrequencyInSeconds": 0,
        "workflowPriority": row.priority,
        "iteration": 0,
        "subworkflowChanged": False,
        "firstStartTime": row.first_start_time,
        "loopOverTask": False,
        "queueWaitTime": max(0, row.start_time - row.scheduled_time) if row.start_time else 0,
    }
    optional = (
        ("correlationId", row.correlation_id),
        ("retriedTaskId", row.retried_task_id),
        ("reasonForIncompletion", row.reason),
        ("workerId", row.worker_id),
        ("domain", row.domain or None),
    )
    for key, value in optional:
        if value is not None:
            data[key] = value
    return data


def _workflow(row: WorkflowRow, tasks: list[Task]) -> Workflow:
    failed = [
        task.reference_task_name or task.task_type
        for task in tasks[-1:]
        if row.status in (WorkflowStatus.FAILED, WorkflowStatus.TIMED_OUT)
    ]
    return Workflow(
        workflow_id=row.id,
        status=row.status,
        workflow_name=row.name,
        workflow_version=row.version,
        input=row.input,
        output=row.output,
        tasks=tasks,
        correlation_id=row.correlation_id,
        reason_for_incompletion=row.reason,
        create_time=row.create_time,
        update_time=row.update_time,
        start_time=row.create_time,
        end_time=row.end_time,
        priority=row.priority,
        failed_reference_task_names=failed,
        failed_task_names=[task.task_type for task in tasks[-1:] if failed],
    )
