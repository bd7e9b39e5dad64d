"""Every change the engine makes to the database, each one statement guarded by the state
it expects.

A change runs inside the open transaction (``db`` is the connection :mod:`._commits`
hands to a write) and reports whether it changed anything: ``... WHERE id = ? AND
status IN ('SCHEDULED', 'IN_PROGRESS')``, a lease that is still held, a workflow still
``RUNNING``. Callers act on that report, never on a record they read earlier: whichever
of two racing changes (a completion and a lease expiry, say) commits first wins, and the
other changes nothing.

The statements are built from module constants (column lists, guards); every value is a
bound parameter (hence the ``S608`` waivers).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ..models import JsonObject, TaskStatus, WorkflowStatus
from ._records import TaskAttempt
from ._schema import TASK_COLUMNS, dump, task_attempt
from ._settings import TaskSettings

_LIVE = f"status IN ('{TaskStatus.SCHEDULED.value}', '{TaskStatus.IN_PROGRESS.value}')"
"""An attempt that has not ended: queued, leased, or handed back for a while."""
LEASED = f"status = '{TaskStatus.IN_PROGRESS.value}' AND lease_until IS NOT NULL"
"""An attempt leased to a worker now."""
_TOUCHED = "workflow_id, task_type, domain, output"

DefinitionKind = Literal["task", "workflow"]
DEFINITION_TABLES: dict[DefinitionKind, str] = {"task": "task_defs", "workflow": "workflow_defs"}


@attrs.frozen
class Touched:
    """What a guarded change of one task reports when it changed the task."""

    workflow_id: str
    task_type: str
    domain: str
    output: str
    """The task's output after the change, as stored (JSON text)."""


@attrs.frozen
class NewTask:
    """What it takes to schedule a task attempt."""

    id: str
    task_type: str
    domain: str
    """With the task type, the queue it waits in ('' for none)."""
    priority: int
    visible_at: int
    """It may be leased from this time on (epoch ms)."""
    input: JsonObject
    workflow_id: str
    workflow_type: str
    ref_name: str
    correlation_id: str | None
    settings: TaskSettings
    retry_count: int = 0
    """Attempts before this one."""
    retried_task_id: str | None = None
    """The attempt this one retries."""


# -- workflows -------------------------------------------------------------------------


def insert_workflow(
    db: sqlite3.Connection,
    *,
    id: str,
    name: str,
    input: JsonObject,
    correlation_id: str | None,
    priority: int,
    now: int,
) -> None:
    """Record a ``RUNNING`` workflow (version 1)."""
    db.execute(
        "INSERT INTO workflows (id, name, version, status, input, correlation_id, priority,"
        " create_time, update_time) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
        (id, name, WorkflowStatus.RUNNING.value, dump(input), correlation_id, priority, now, now),
    )


def finish_workflow(
    db: sqlite3.Connection,
    workflow_id: str,
    status: WorkflowStatus,
    *,
    output: str | None,
    reason: str | None,
    now: int,
) -> bool:
    """End a ``RUNNING`` workflow; False (nothing changed) if it had already ended.

    ``output`` is JSON text as stored (a task's output), or None to keep the workflow's.
    """
    cursor = db.execute(
        "UPDATE workflows SET status = ?, output = coalesce(?, output), reason = ?,"
        " update_time = ?, end_time = ? WHERE id = ? AND status = ?",
        (status.value, output, reason, now, now, workflow_id, WorkflowStatus.RUNNING.value),
    )
    return cursor.rowcount == 1


# -- tasks -----------------------------------------------------------------------------


def insert_task(db: sqlite3.Connection, task: NewTask, now: int) -> None:
    """Schedule an attempt: it waits in its queue from ``task.visible_at`` on."""
    settings = task.settings
    db.execute(
        "INSERT INTO tasks (id, workflow_id, workflow_type, task_type, ref_name, domain,"
        " status, input, retry_count, max_attempts, retry_delay_s, response_timeout_s,"
        " correlation_id, priority, retried_task_id, scheduled_time, update_time, visible_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(task.id, task.workflow_id, task.workflow_type, task.task_type, task.ref_name),
            *(task.domain, TaskStatus.SCHEDULED.value, dump(task.input), task.retry_count),
            *(settings.max_attempts, settings.retry_delay_s, settings.response_timeout_s),
            *(task.correlation_id, task.priority, task.retried_task_id, now, now),
            task.visible_at,
        ),
    )


def claim(
    db: sqlite3.Connection,
    queue: tuple[str, str],
    count: int,
    worker_id: str | None,
    now: int,
) -> list[TaskAttempt]:
    """Lease up to ``count`` visible tasks of the (task type, domain) ``queue`` to
    ``worker_id``, in the queue's order: priority first, then age."""
    # One statement: pick in the queue index's order, lease, and read back.
    rows = db.execute(
        "UPDATE tasks SET status = ?, visible_at = NULL,"
        " lease_until = ? + response_timeout_s * 1000,"
        " poll_count = poll_count + 1, worker_id = ?, callback_after_s = 0,"
        " start_time = ?, first_start_time = CASE first_start_time WHEN 0 THEN ?"
        " ELSE first_start_time END, update_time = ?"
        " WHERE seq_no IN (SELECT seq_no FROM tasks WHERE task_type = ? AND domain = ?"
        " AND visible_at IS NOT NULL AND visible_at <= ?"
        " ORDER BY priority DESC, visible_at, seq_no LIMIT ?)"
        f" RETURNING {TASK_COLUMNS}",
        (TaskStatus.IN_PROGRESS.value, now, worker_id, now, now, now, *queue, now, count),
    ).fetchall()
    tasks = [task_attempt(row) for row in rows]
    if len(tasks) > 1:  # RETURNING gives no order: the queue's is priority, then age
        tasks.sort(key=lambda task: (-task.priority, task.seq_no))
    return tasks


def release(db: sqlite3.Connection, leases: Sequence[tuple[str, int]], now: int) -> None:
    """Put leased tasks back in their queue at once, as if never polled.

    ``leases`` are (task id, poll count) pairs as the lease handed them out: a task that
    has since been updated, timed out or leased again is left alone.
    """
    db.executemany(
        "UPDATE tasks SET status = ?, visible_at = ?, lease_until = NULL, worker_id = NULL"
        f" WHERE id = ? AND poll_count = ? AND {LEASED}",
        [(TaskStatus.SCHEDULED.value, now, task_id, polls) for task_id, polls in leases],
    )


def renew_lease(
    db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
) -> Touched | None:
    """Extend a held lease by the task's response timeout; None if it is not held."""
    return _touch(
        db,
        "lease_until = ? + response_timeout_s * 1000, output = merge_output(output, ?),"
        f" update_time = ? WHERE id = ? AND {LEASED}",
        (now, dump(output), now, task_id),
    )


def add_output(
    db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
) -> Touched | None:
    """Merge ``output`` into an attempt that has not ended; None if it has."""
    return _touch(
        db,
        f"output = merge_output(output, ?), update_time = ? WHERE id = ? AND {_LIVE}",
        (dump(output), now, task_id),
    )


def requeue(
    db: sqlite3.Connection,
    task_id: str,
    *,
    visible_at: int,
    callback_after_s: int,
    output: JsonObject,
    now: int,
) -> Touched | None:
    """Hand a task back to its queue until ``visible_at`` (``callbackAfterSeconds``).

    None if the attempt has already ended.
    """
    return _touch(
        db,
        "visible_at = ?, lease_until = NULL, callback_after_s = ?,"
        f" output = merge_output(output, ?), update_time = ? WHERE id = ? AND {_LIVE}",
        (visible_at, callback_after_s, dump(output), now, task_id),
    )


def complete_task(
    db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
) -> Touched | None:
    """End an attempt that has not ended as ``COMPLETED``; None if it had ended."""
    row = _end(
        db,
        "status = ?, output = merge_output(output, ?), reason = NULL",
        (TaskStatus.COMPLETED.value, dump(output)),
        (f"id = ? AND {_LIVE}", task_id),
        now,
        returning=_TOUCHED,
    )
    return None if row is None else Touched(*row)


def fail_task(
    db: sqlite3.Connection,
    task_id: str,
    status: TaskStatus,
    *,
    output: JsonObject,
    reason: str,
    now: int,
) -> TaskAttempt | None:
    """End an attempt that has not ended as failed; None if it had ended.

    The record returned is the task after the change: its ``retried`` is set when
    another attempt is due (a ``FAILED`` attempt with attempts left).
    """
    retryable = status is not TaskStatus.FAILED_WITH_TERMINAL_ERROR
    row = _end(
        db,
        "status = ?, output = merge_output(output, ?), reason = ?,"
        " retried = (? AND retry_count + 1 < max_attempts)",
        (status.value, dump(output), reason, int(retryable)),
        (f"id = ? AND {_LIVE}", task_id),
        now,
    )
    return None if row is None else task_attempt(row)


def expire_leases(db: sqlite3.Connection, now: int, limit: int) -> list[TaskAttempt]:
    """End up to ``limit`` attempts whose lease ran out by ``now`` as ``TIMED_OUT``.

    Oldest leases first (then oldest tasks); the records returned are the tasks after
    the change (``retried`` set when another attempt is due). A lease renewed, or an
    attempt ended, before this runs is not touched.
    """
    due = db.execute(
        f"SELECT seq_no FROM tasks WHERE {LEASED} AND lease_until <= ?"
        " ORDER BY lease_until, seq_no LIMIT ?",
        (now, limit),
    ).fetchall()
    reason = (
        "'task timed out: no update within responseTimeoutSeconds=' || response_timeout_s"
        " || ' (worker ' || coalesce(worker_id, '?') || ')'"
    )
    ended: list[TaskAttempt] = []
    for (seq_no,) in due:
        # Each row guarded again by itself: the statement is what decides.
        row = _end(
            db,
            f"status = ?, reason = {reason}, retried = (retry_count + 1 < max_attempts)",
            (TaskStatus.TIMED_OUT.value,),
            (f"seq_no = ? AND {LEASED} AND lease_until <= ?", seq_no, now),
            now,
        )
        if row is not None:
            ended.append(task_attempt(row))
    return ended


def restart_leases(db: sqlite3.Connection, now: int) -> int:
    """Leases that ran out by ``now`` start over from ``now``; returns how many."""
    cursor = db.execute(
        f"UPDATE tasks SET lease_until = ? + response_timeout_s * 1000"
        f" WHERE {LEASED} AND lease_until <= ?",
        (now, now),
    )
    return cursor.rowcount


def _end(
    db: sqlite3.Connection,
    change: str,
    parameters: Sequence[object],
    where: tuple[str, *tuple[object, ...]],
    now: int,
    *,
    returning: str = TASK_COLUMNS,
) -> Any:
    """End the attempt that ``where`` (a condition, then its parameters) selects with
    ``change``: it leaves its queue, its lease ends, its end time is ``now``. Returns
    the ``returning`` columns after the change, None if nothing changed."""
    condition, *where_parameters = where
    return db.execute(
        f"UPDATE tasks SET {change}, visible_at = NULL, lease_until = NULL, end_time = ?,"
        f" update_time = ? WHERE {condition} RETURNING {returning}",
        (*parameters, now, now, *where_parameters),
    ).fetchone()


def _touch(db: sqlite3.Connection, change: str, parameters: Sequence[object]) -> Touched | None:
    statement = f"UPDATE tasks SET {change} RETURNING {_TOUCHED}"
    row = db.execute(statement, parameters).fetchone()
    return None if row is None else Touched(*row)


# -- logs and definitions --------------------------------------------------------------


def add_logs(db: sqlite3.Connection, task_id: str, lines: Sequence[tuple[str, int]]) -> None:
    """Append (text, epoch ms) log lines to a task."""
    db.executemany(
        "INSERT INTO task_logs (task_id, log, created_time) VALUES (?, ?, ?)",
        [(task_id, text, created) for text, created in lines],
    )


def put_definition(
    db: sqlite3.Connection, kind: DefinitionKind, name: str, definition: JsonObject
) -> None:
    """Store a task or workflow definition under its name, replacing an older one."""
    db.execute(
        f"INSERT INTO {DEFINITION_TABLES[kind]} (name, definition) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
        (name, dump(definition)),
    )
