"""What the engine reads and hands out: task attempts, workflows, a workflow's summary.

The store builds these from its rows and the views (:mod:`._views`) render them; nothing
above the engine sees SQL. They are plain frozen values: a record is what the database
held when it was read, and changing it changes nothing stored.
"""

from __future__ import annotations

import attrs

from ..models import JsonObject, TaskStatus, WorkflowStatus


@attrs.frozen
class TaskAttempt:
    """One attempt of a task, as it stood when read."""

    seq_no: int
    """Its place in the order of scheduling, over all queues."""
    id: str
    workflow_id: str
    workflow_type: str
    task_type: str
    ref_name: str
    domain: str
    """'' for none."""
    status: TaskStatus
    input: JsonObject
    output: JsonObject
    reason: str | None
    retry_count: int
    max_attempts: int
    retry_delay_s: int
    response_timeout_s: int
    callback_after_s: int
    poll_count: int
    """How many times it was leased: with the id, it names one lease."""
    worker_id: str | None
    correlation_id: str | None
    priority: int
    retried_task_id: str | None
    retried: bool
    """Another attempt was scheduled after this one ended."""
    scheduled_time: int
    start_time: int
    first_start_time: int
    end_time: int
    update_time: int
    visible_at: int | None
    """Set while it waits in its queue: it may be leased from this time on."""
    lease_until: int | None
    """Set while it is leased to ``worker_id``."""

    @property
    def lease(self) -> tuple[str, int]:
        """(task id, poll count): the lease this record was handed out with."""
        return self.id, self.poll_count

    @property
    def queue(self) -> tuple[str, str]:
        """The (task type, domain) queue it belongs to."""
        return self.task_type, self.domain


@attrs.frozen
class WorkflowRecord:
    """One workflow execution, as it stood when read."""

    id: str
    name: str
    version: int
    """Always 1: definitions are not versioned here."""
    status: WorkflowStatus
    input: JsonObject
    output: JsonObject
    """Its task's output once the task completed; ``{}`` until then."""
    correlation_id: str | None
    reason: str | None
    """Why it failed or timed out: its last attempt's reason."""
    priority: int
    create_time: int
    update_time: int
    end_time: int
    """0 while it runs; the times are epoch milliseconds."""


@attrs.frozen
class WorkflowSummary:
    """Where a workflow stands, without its input (and its output unless asked for)."""

    id: str
    status: WorkflowStatus
    correlation_id: str | None
    output: JsonObject | None
    """None unless it was asked for."""
