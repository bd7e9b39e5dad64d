"""Conductor's wire data as frozen attrs classes.

Field names are snake_case here and camelCase on the wire; the mapping lives in one
place, :mod:`user_agent_sdk.models._converter`. Every optional field defaults to
``None`` and is left out of the JSON when it is ``None``, as Conductor's own Jackson
configuration does; unknown fields in incoming JSON are ignored.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = [
    "JsonObject",
    "StartWorkflowRequest",
    "Task",
    "TaskDef",
    "TaskExecLog",
    "TaskResult",
    "TaskResultStatus",
    "TaskStatus",
    "Workflow",
    "WorkflowStatus",
]

JsonObject = dict[str, Any]


class TaskStatus(enum.Enum):
    """The status of one task attempt, as Conductor reports it."""

    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    TIMED_OUT = "TIMED_OUT"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """True once the attempt can no longer change."""
        return self not in (TaskStatus.SCHEDULED, TaskStatus.IN_PROGRESS)


class TaskResultStatus(enum.Enum):
    """What a worker may report for a task it holds."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"


class WorkflowStatus(enum.Enum):
    """The status of a workflow execution."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    TERMINATED = "TERMINATED"
    PAUSED = "PAUSED"

    @property
    def is_terminal(self) -> bool:
        """True once the workflow has ended."""
        return self not in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED)


@attrs.frozen
class TaskExecLog:
    """One log line of a task, as the platform shows it."""

    log: str
    task_id: str | None = None
    created_time: int | None = None
    """Epoch milliseconds."""


@attrs.frozen
class Task:
    """A task attempt as a poll returns it (Conductor's ``Task``, all its fields)."""

    task_type: str = ""
    status: TaskStatus = TaskStatus.SCHEDULED
    input_data: JsonObject = attrs.field(factory=dict)
    reference_task_name: str | None = None
    retry_count: int = 0
    seq: int = 0
    correlation_id: str | None = None
    poll_count: int = 0
    task_def_name: str | None = None
    scheduled_time: int = 0
    start_time: int = 0
    end_time: int = 0
    update_time: int = 0
    start_delay_in_seconds: int = 0
    retried_task_id: str | None = None
    retried: bool = False
    executed: bool = False
    callback_from_worker: bool = True
    response_timeout_seconds: int = 0
    workflow_instance_id: str | None = None
    workflow_type: str | None = None
    task_id: str = ""
    reason_for_incompletion: str | None = None
    callback_after_seconds: int = 0
    worker_id: str | None = None
    output_data: JsonObject = attrs.field(factory=dict)
    workflow_task: JsonObject | None = None
    domain: str | None = None
    rate_limit_per_frequency: int = 0
    rate_limit_frequency_in_seconds: int = 0
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    workflow_priority: int = 0
    execution_name_space: str | None = None
    isolation_group_id: str | None = None
    iteration: int = 0
    sub_workflow_id: str | None = None
    subworkflow_changed: bool = False
    parent_task_id: str | None = None
    first_start_time: int = 0
    loop_over_task: bool = False
    task_definition: JsonObject | None = None
    queue_wait_time: int = 0
    runtime_metadata: dict[str, str] | None = None

    @property
    def attempt(self) -> int:
        """The 1-based attempt number of this task (``retry_count + 1``)."""
        return self.retry_count + 1


@attrs.frozen
class TaskResult:
    """What a worker posts back for a task it polled."""

    task_id: str
    status: TaskResultStatus
    workflow_instance_id: str | None = None
    worker_id: str | None = None
    output_data: JsonObject = attrs.field(factory=dict)
    logs: list[TaskExecLog] = attrs.field(factory=list)
    reason_for_incompletion: str | None = None
    callback_after_seconds: int | None = None
    extend_lease: bool = False
    sub_workflow_id: str | None = None
    external_output_payload_storage_path: str | None = None


@attrs.frozen
class TaskDef:
    """A task type's settings: how long a lease lasts and how often to retry."""

    name: str
    description: str | None = None
    retry_count: int = 3
    retry_logic: str = "FIXED"
    retry_delay_seconds: int = 60
    timeout_seconds: int = 0
    timeout_policy: str = "TIME_OUT_WF"
    response_timeout_seconds: int = 3600
    poll_timeout_seconds: int | None = None
    concurrent_exec_limit: int | None = None
    rate_limit_per_frequency: int | None = None
    rate_limit_frequency_in_seconds: int | None = None
    input_keys: list[str] | None = None
    output_keys: list[str] | None = None
    owner_email: str | None = None
    owner_app: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    backoff_scale_factor: int | None = None
    total_timeout_seconds: int | None = None


@attrs.frozen
class StartWorkflowRequest:
    """The body of ``POST /api/workflow``."""

    name: str
    version: int | None = None
    correlation_id: str | None = None
    input: JsonObject = attrs.field(factory=dict)
    task_to_domain: dict[str, str] | None = None
    workflow_def: JsonObject | None = None
    priority: int | None = None
    idempotency_key: str | None = None
    created_by: str | None = None


@attrs.frozen
class Workflow:
    """A workflow execution: its status, input, output and task attempts."""

    workflow_id: str
    status: WorkflowStatus = WorkflowStatus.RUNNING
    workflow_name: str | None = None
    workflow_version: int = 1
    input: JsonObject = attrs.field(factory=dict)
    output: JsonObject = attrs.field(factory=dict)
    tasks: list[Task] = attrs.field(factory=list)
    correlation_id: str | None = None
    reason_for_incompletion: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    start_time: int | None = None
    end_time: int = 0
    priority: int = 0
    variables: JsonObject = attrs.field(factory=dict)
    task_to_domain: dict[str, str] = attrs.field(factory=dict)
    failed_reference_task_names: list[str] = attrs.field(factory=list)
    failed_task_names: list[str] = attrs.field(factory=list)
    owner_app: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    parent_workflow_id: str | None = None
    parent_workflow_task_id: str | None = None
    re_run_from_workflow_id: str | None = None
    event: str | None = None
    workflow_definition: JsonObject | None = None
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    last_retried_time: int = 0
    idempotency_key: str | None = None
