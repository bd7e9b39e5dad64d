"""What a worker's result, or a lease running out, does to a task and its workflow.

These run inside a write (the connection of the open transaction), so what they read is
what they change:

- ``IN_PROGRESS`` renews a held lease (or only adds output to a task waiting in its
  queue); with ``callbackAfterSeconds`` it hands the task back to its queue for that long;
- ``COMPLETED`` ends the task and its workflow with the task's output;
- ``FAILED`` (and a lease running out) schedule a new attempt, a new task id with
  ``retryCount + 1``, after the retry delay while attempts are left, else end the
  workflow ``FAILED`` (``TIMED_OUT``); ``FAILED_WITH_TERMINAL_ERROR`` is never retried;
- a result for an attempt that has already ended changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable

import attrs

from ..models import TaskResult, TaskResultStatus, TaskStatus, WorkflowStatus
from . import _changes as changes
from ._changes import NewTask
from ._queues import Queue
from ._records import TaskAttempt
from ._settings import TaskSettings
from ._store import Store

log = logging.getLogger("user_agent_sdk.server")

_CARRIED_OVER = (
    *("workflow_id", "workflow_type", "task_type", "ref_name", "domain", "input"),
    *("correlation_id", "priority"),
)
"""What a new attempt of a task keeps of the one before."""


@attrs.frozen
class Wakeups:
    """Whom a change tells, once it is decided, that something became due."""

    work_visible: Callable[[Queue], None]
    """Work may be leased in this queue now."""
    deadline: Callable[[int], None]
    """Something falls due at this time (epoch ms)."""


def apply_result(
    store: Store, db: sqlite3.Connection, result: TaskResult, now: int, wakeups: Wakeups
) -> tuple[Queue, bool] | None:
    """Apply ``result`` inside the open transaction.

    Returns the task's queue and whether the result changed the task; None for an
    unknown task id.
    """
    touched = _change(db, result, now, wakeups)
    if touched is None:
        state = store.task_state(result.task_id)
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
        changes.add_logs(db, result.task_id, lines)
    return touched, True


def _change(db: sqlite3.Connection, result: TaskResult, now: int, wakeups: Wakeups) -> Queue | None:
    """The guarded change ``result`` asks for; the task's queue, None if nothing changed."""
    task_id, output = result.task_id, result.output_data
    match result.status:
        case TaskResultStatus.IN_PROGRESS if (result.callback_after_seconds or 0) > 0:
            delay = result.callback_after_seconds or 0
            visible_at = now + delay * 1000
            touched = changes.requeue(
                db, task_id, visible_at=visible_at, callback_after_s=delay, output=output, now=now
            )
            if touched is not None:
                wakeups.deadline(visible_at)
        case TaskResultStatus.IN_PROGRESS:
            # A leased task's lease is renewed; one waiting in its queue keeps waiting.
            touched = changes.renew_lease(db, task_id, output, now) or changes.add_output(
                db, task_id, output, now
            )
        case TaskResultStatus.COMPLETED:
            touched = changes.complete_task(db, task_id, output, now)
            if touched is not None:
                changes.finish_workflow(
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
            ended = changes.fail_task(db, task_id, status, output=output, reason=reason, now=now)
            if ended is None:
                return None
            after_failure(db, ended, now, wakeups)
            return ended.queue
    return None if touched is None else (touched.task_type, touched.domain)


def after_failure(db: sqlite3.Connection, ended: TaskAttempt, now: int, wakeups: Wakeups) -> None:
    """After an attempt ended failed or timed out (``ended``): retry it, or end its workflow."""
    if not ended.retried:
        outcome = (
            WorkflowStatus.TIMED_OUT
            if ended.status is TaskStatus.TIMED_OUT
            else WorkflowStatus.FAILED
        )
        changes.finish_workflow(
            db, ended.workflow_id, outcome, output=None, reason=ended.reason, now=now
        )
        return
    visible_at = now + ended.retry_delay_s * 1000
    carried = {name: getattr(ended, name) for name in _CARRIED_OVER}
    retry = NewTask(
        id=str(uuid.uuid4()),
        visible_at=visible_at,
        retry_count=ended.retry_count + 1,
        retried_task_id=ended.id,
        settings=TaskSettings(ended.response_timeout_s, ended.max_attempts, ended.retry_delay_s),
        **carried,
    )
    changes.insert_task(db, retry, now)
    if visible_at <= now:
        wakeups.work_visible(ended.queue)
    else:
        wakeups.deadline(visible_at)
