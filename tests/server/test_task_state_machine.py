"""The task engine against a model of Conductor's task semantics, under random interleavings.

Hypothesis drives a real engine (SQLite file, group commit, the timer running) with a
clock the test moves: submissions, polls, updates by every route (``update``,
``update-v2``, ``update-batch``), lease renewals, hand-backs (``callbackAfterSeconds``),
answers that never arrived (release), leases running out, and restarts of the engine on
the same file. After every step, every task and workflow the engine holds must be what
a few lines of model say.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from user_agent_sdk.conductor import TaskResult, TaskResultStatus, TaskStatus, WorkflowStatus
from user_agent_sdk.server._engine import Submission, TaskEngine, TaskNotFound
from user_agent_sdk.server._records import TaskAttempt
from user_agent_sdk.server._settings import TaskSettings
from user_agent_sdk.server._store import Store

T = TypeVar("T")

TASK_TYPE = "modelled"
START_MS = 1_700_000_000_000
LIVE = (TaskStatus.SCHEDULED, TaskStatus.IN_PROGRESS)


@attrs.define
class ModelTask:
    id: str
    seq: int
    workflow_id: str
    response_timeout_s: int
    max_attempts: int
    retry_count: int
    status: TaskStatus = TaskStatus.SCHEDULED
    output: dict[str, Any] = attrs.Factory(dict)
    visible_at: int | None = None
    lease_until: int | None = None
    poll_count: int = 0

    @property
    def leased(self) -> bool:
        return self.status is TaskStatus.IN_PROGRESS and self.lease_until is not None


@attrs.define
class ModelWorkflow:
    status: WorkflowStatus = WorkflowStatus.RUNNING
    output: dict[str, Any] = attrs.Factory(dict)


class EngineHost:
    """A real engine on a file, run in a trio loop that the machine's thread calls into."""

    def __init__(self, path: Path, clock: Callable[[], int]) -> None:
        self._path = path
        self._clock = clock
        self.engine: TaskEngine | None = None
        self._scope: trio.CancelScope | None = None
        self._store: Store | None = None
        self._stopped = trio.Event()

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(fn, *args)

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """A read on the engine's connection, on the loop's thread like every other use."""
        return trio.from_thread.run_sync(fn, *args)

    async def start(self) -> None:
        self._store = Store(self._path)
        engine = TaskEngine(self._store, TaskSettings(), clock=self._clock)
        self._stopped = trio.Event()
        started = trio.Event()

        async def run() -> None:
            try:
                with trio.CancelScope() as scope:
                    self._scope = scope
                    async with trio.open_nursery() as nursery:
                        await nursery.start(engine.run)
                        started.set()
                        await trio.sleep_forever()
            finally:
                self._stopped.set()

        trio.lowlevel.spawn_system_task(run)
        await started.wait()
        self.engine = engine

    async def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
            await self._stopped.wait()
        if self._store is not None:
            self._store.close()
        self.engine, self._scope, self._store = None, None, None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


results = st.sampled_from(
    [
        TaskResultStatus.COMPLETED,
        TaskResultStatus.FAILED,
        TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
        TaskResultStatus.IN_PROGRESS,
    ]
)


class TaskMachine(RuleBasedStateMachine):
    """Drives the engine and the model side by side; set up by :func:`_machine_class`."""

    host: EngineHost
    now: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, ModelTask] = {}
        self.workflows: dict[str, ModelWorkflow] = {}
        self.seq = itertools.count()
        self.outputs = itertools.count()
        self.answers: list[list[TaskAttempt]] = []
        """Poll answers the machine may later declare undelivered."""

    # -- helpers ---------------------------------------------------------------

    @property
    def engine(self) -> TaskEngine:
        assert self.host.engine is not None
        return self.host.engine

    def _learn_new_attempt(self, workflow_id: str, after: ModelTask) -> None:
        """The engine scheduled another attempt of ``after``'s workflow: track it."""
        flow = self.host.read(self.engine.workflow, workflow_id)
        assert flow is not None
        newest = flow.tasks[-1]
        assert newest.retried_task_id == after.id, "a retry names the attempt it follows"
        assert newest.retry_count == after.retry_count + 1
        self.tasks[newest.task_id] = ModelTask(
            id=newest.task_id,
            seq=next(self.seq),
            workflow_id=workflow_id,
            response_timeout_s=after.response_timeout_s,
            max_attempts=after.max_attempts,
            retry_count=after.retry_count + 1,
            visible_at=self.now[0],
        )

    def _end_failed(self, task: ModelTask, status: TaskStatus) -> None:
        task.status, task.visible_at, task.lease_until = status, None, None
        retry = (
            status is not TaskStatus.FAILED_WITH_TERMINAL_ERROR
            and task.retry_count + 1 < task.max_attempts
        )
        if retry:
            self._learn_new_attempt(task.workflow_id, task)
        else:
            outcome = (
                WorkflowStatus.TIMED_OUT
                if status is TaskStatus.TIMED_OUT
                else WorkflowStatus.FAILED
            )
            self.workflows[task.workflow_id].status = outcome

    def _apply_to_model(self, result: TaskResult) -> bool:
        """What the engine must do with ``result``; True if it changes the task."""
        task = self.tasks[result.task_id]
        if task.status not in LIVE:
            return False
        now = self.now[0]
        task.output = {**task.output, **result.output_data}
        match result.status:
            case TaskResultStatus.IN_PROGRESS if result.callback_after_seconds:
                task.visible_at = now + result.callback_after_seconds * 1000
                task.lease_until = None
            case TaskResultStatus.IN_PROGRESS:
                if task.leased:
                    task.lease_until = now + task.response_timeout_s * 1000
            case TaskResultStatus.COMPLETED:
                task.status, task.visible_at, task.lease_until = TaskStatus.COMPLETED, None, None
                flow = self.workflows[task.workflow_id]
                flow.status, flow.output = WorkflowStatus.COMPLETED, dict(task.output)
            case _:
                self._end_failed(task, TaskStatus(result.status.value))
        return True

    def _lease_in_model(self, count: int) -> list[str]:
        """Lease the ``count`` tasks first in the queue (longest visible, then oldest);
        an answer lists them oldest first, as the engine promises."""
        now = self.now[0]
        visible = sorted(
            (
                task
                for task in self.tasks.values()
                if task.visible_at is not None and task.visible_at <= now
            ),
            key=lambda task: (task.visible_at or 0, task.seq),
        )[:count]
        for task in visible:
            task.status, task.visible_at = TaskStatus.IN_PROGRESS, None
            task.lease_until = now + task.response_timeout_s * 1000
            task.poll_count += 1
        return [task.id for task in sorted(visible, key=lambda task: task.seq)]

    def _remember(self, rows: list[TaskAttempt]) -> None:
        if rows:
            self.answers.append(rows)

    def _result(self, data: st.DataObject, task_id: str) -> TaskResult:
        status = data.draw(results)
        callback = 0
        if status is TaskResultStatus.IN_PROGRESS:
            callback = data.draw(st.sampled_from([0, 0, 1, 3]))
        output = {"k": data.draw(st.sampled_from(["a", "b"])), "v": next(self.outputs)}
        return TaskResult(
            task_id=task_id,
            workflow_instance_id=self.tasks[task_id].workflow_id,
            worker_id="model",
            status=status,
            output_data=output,
            callback_after_seconds=callback,
            reason_for_incompletion="model says so"
            if status in (TaskResultStatus.FAILED, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR)
            else None,
        )

    # -- rules -------------------------------------------------------------------

    @rule(timeout_s=st.sampled_from([1, 2, 5]), attempts=st.integers(1, 3))
    def submit(self, timeout_s: int, attempts: int) -> None:
        settings_ = TaskSettings(response_timeout_s=timeout_s, max_attempts=attempts)
        submission = Submission(
            workflow_name=TASK_TYPE, task_type=TASK_TYPE, input={"n": 1}, settings=settings_
        )
        workflow_id = self.host.call(self.engine.start_workflow, submission)
        flow = self.host.read(self.engine.workflow, workflow_id)
        assert flow is not None
        [task] = flow.tasks
        self.workflows[workflow_id] = ModelWorkflow()
        self.tasks[task.task_id] = ModelTask(
            id=task.task_id,
            seq=next(self.seq),
            workflow_id=workflow_id,
            response_timeout_s=timeout_s,
            max_attempts=attempts,
            retry_count=0,
            visible_at=self.now[0],
        )

    @rule(count=st.integers(1, 4))
    def poll(self, count: int) -> None:
        async def poll() -> list[TaskAttempt]:
            return await self.engine.poll(TASK_TYPE, worker_id="model", count=count)

        rows = self.host.call(poll)
        assert [row.id for row in rows] == self._lease_in_model(count)
        self._remember(rows)

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(list(self.tasks)))
        result = self._result(data, task_id)
        changed = self.host.call(self.engine.update, result)
        assert changed == self._apply_to_model(result), result

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def update_and_poll(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(list(self.tasks)))
        result = self._result(data, task_id)
        row = self.host.call(self.engine.update_and_poll, result)
        self._apply_to_model(result)
        assert ([row.id] if row else []) == self._lease_in_model(1)
        self._remember([row] if row else [])

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data(), count=st.integers(0, 3))
    def update_batch(self, data: st.DataObject, count: int) -> None:
        ids = data.draw(st.lists(st.sampled_from(list(self.tasks)), max_size=4, unique=True))
        batch = [self._result(data, task_id) for task_id in ids]

        async def send() -> tuple[list[str], list[TaskAttempt]]:
            return await self.engine.update_batch(
                batch, (TASK_TYPE, ""), count=count, worker_id="model"
            )

        unknown, rows = self.host.call(send)
        assert unknown == []
        for result in batch:
            self._apply_to_model(result)
        assert [row.id for row in rows] == self._lease_in_model(count)
        self._remember(rows)

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def renew(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(list(self.tasks)))
        result = TaskResult(
            task_id=task_id,
            workflow_instance_id=self.tasks[task_id].workflow_id,
            status=TaskResultStatus.IN_PROGRESS,
        )
        assert self.host.call(self.engine.update, result) == self._apply_to_model(result)

    @precondition(lambda self: bool(self.answers))
    @rule(data=st.data())
    def answer_undelivered(self, data: st.DataObject) -> None:
        rows = self.answers.pop(data.draw(st.integers(0, len(self.answers) - 1)))

        async def release() -> None:
            engine = self.engine
            engine.release(rows)
            await engine.expire_leases()  # any write: waits for the release's commit

        self.host.call(release)
        for row in rows:
            task = self.tasks[row.id]
            if task.leased and task.poll_count == row.poll_count:
                task.status, task.lease_until = TaskStatus.SCHEDULED, None
                task.visible_at = self.now[0]

    @rule(ms=st.sampled_from([1, 500, 999, 1000, 1001, 2500, 5000]))
    def time_passes(self, ms: int) -> None:
        async def advance() -> None:
            self.now[0] += ms
            await self.engine.expire_leases()

        self.host.call(advance)
        now = self.now[0]
        due = sorted(
            (
                task
                for task in self.tasks.values()
                if task.leased and task.lease_until is not None and task.lease_until <= now
            ),
            key=lambda task: (task.lease_until or 0, task.seq),
        )
        for task in due:
            self._end_failed(task, TaskStatus.TIMED_OUT)

    @rule()
    def unknown_task(self) -> None:
        result = TaskResult(task_id="no-such-task", status=TaskResultStatus.COMPLETED)
        try:
            self.host.call(self.engine.update, result)
        except TaskNotFound:
            pass
        else:
            raise AssertionError("an unknown task id must raise TaskNotFound")

    @rule()
    def restart(self) -> None:
        self.host.call(self.host.restart)
        self.answers.clear()  # the connections that carried them are gone with the process

    # -- what must hold after every step --------------------------------------------

    @invariant()
    def engine_agrees_with_the_model(self) -> None:
        for task in self.tasks.values():
            found = self.host.read(self.engine.task, task.id)
            assert found is not None
            assert (found.status, found.output_data) == (task.status, task.output), task
            assert found.poll_count == task.poll_count, task
        for workflow_id, model in self.workflows.items():
            flow = self.host.read(
                lambda: self.engine.workflow(workflow_id, include_tasks=False)  # noqa: B023
            )
            assert flow is not None
            assert (flow.status, flow.output) == (model.status, model.output), workflow_id

    @invariant()
    def a_workflow_has_at_most_one_live_attempt(self) -> None:
        live = [task.workflow_id for task in self.tasks.values() if task.status in LIVE]
        assert len(live) == len(set(live))


def _run_machine(tmp: Path) -> None:
    counter = itertools.count()

    class Machine(TaskMachine):
        def __init__(self) -> None:
            self.now = [START_MS]
            self.host = EngineHost(tmp / f"engine-{next(counter)}.db", lambda: self.now[0])
            trio.from_thread.run(self.host.start)
            super().__init__()

        def teardown(self) -> None:
            trio.from_thread.run(self.host.stop)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


async def test_the_engine_follows_the_model_under_random_interleavings(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(_run_machine, tmp_path)
