"""What a task that has run leaves behind: its result encoded, counted, logged and observed."""

from __future__ import annotations

import logging
import time

import attrs

from ..conductor import Task, TaskResult, TaskResultStatus
from ._invoke import Agent, clean_input, platform_ids
from ._logs import TaskLogger, about_task
from ._measures import AgentMeasures
from ._observer import ExecutionObserver, ExecutionRecord
from ._outcome import AttemptEnd, encode, task_result, unserializable

log = logging.getLogger("user_agent_sdk.runtime")


@attrs.define
class AgentStats:
    """Counts of finished tasks, by how they ended."""

    completed: int = 0
    failed: int = 0
    failed_terminal: int = 0
    handed_back: int = 0

    def count(self, status: TaskResultStatus, by: int = 1) -> None:
        match status:
            case TaskResultStatus.COMPLETED:
                self.completed += by
            case TaskResultStatus.FAILED:
                self.failed += by
            case TaskResultStatus.FAILED_WITH_TERMINAL_ERROR:
                self.failed_terminal += by
            case TaskResultStatus.IN_PROGRESS:
                self.handed_back += by

    def recount(self, was: TaskResultStatus, now: TaskResultStatus) -> None:
        """A result counted as ``was`` reached the server as ``now`` instead."""
        self.count(was, -1)
        self.count(now)


class ResultRecorder:
    """Turns one agent's outcomes into results, and accounts for each of them."""

    def __init__(
        self,
        agent: Agent,
        stats: AgentStats,
        measures: AgentMeasures,
        observer: ExecutionObserver | None,
    ) -> None:
        self._agent = agent
        self._name = agent.spec.name
        self._stats = stats
        self._measures = measures
        self._observer = observer

    def record(
        self, task: Task, outcome: AttemptEnd, logger: TaskLogger, started: float, took: float
    ) -> tuple[TaskResult, bytes]:
        """The result of ``task`` and its body, counted, measured, logged and shown to the
        observer (``started``: epoch seconds; ``took``: the handler's seconds)."""
        result, body = self._encode(task, outcome, logger)
        self._stats.count(result.status)
        measures = self._measures
        if result.status is TaskResultStatus.COMPLETED:
            measures.execute_time.success.observe(took)
        else:
            measures.execute_time.failure.observe(took)
            if outcome.error is not None:
                measures.execute_errors[outcome.error] += 1
        measures.result_size.observe(len(body))
        self._report(task, result, started)
        return result, body

    def _encode(
        self, task: Task, outcome: AttemptEnd, logger: TaskLogger
    ) -> tuple[TaskResult, bytes]:
        lines = list(logger.lines)
        worker_id = self._agent.worker_id
        result = task_result(task, worker_id, outcome, lines)
        try:
            return result, encode(result)
        except (TypeError, ValueError) as exc:
            result = task_result(task, worker_id, unserializable(exc, self._name), lines)
            return result, encode(result)

    def _report(self, task: Task, result: TaskResult, started: float) -> None:
        ended = time.time()
        agent_id = self._agent.agent_id
        if result.status is not TaskResultStatus.COMPLETED:
            log.warning(
                "%s: task %s (attempt %d) %s: %s",
                self._name,
                task.task_id,
                task.attempt,
                result.status.value,
                result.reason_for_incompletion,
                extra=about_task(agent_id, task.task_id, task.workflow_instance_id),
            )
        elif log.isEnabledFor(logging.DEBUG):  # not even the arguments, per task, otherwise
            log.debug(
                "%s: task %s completed in %.0f ms",
                self._name,
                task.task_id,
                (ended - started) * 1e3,
                extra=about_task(agent_id, task.task_id, task.workflow_instance_id),
            )
        if self._observer is None:
            return
        platform_task_id, platform_agent_id = platform_ids(task)
        record = ExecutionRecord(
            agent_name=self._name,
            agent_id=agent_id,
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
