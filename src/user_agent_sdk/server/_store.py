"""The server's state in SQLite: workflows, task attempts, their logs, task definitions.

Methods that change state take the connection of the open transaction (see
:mod:`._commits`, which owns transactions); reads run on the same connection. The calls
are synchronous on purpose: each is tens of microseconds on a WAL database, less than a
hop to a worker thread would cost, and a single connection owned by the event loop
needs no locking. ``synchronous=NORMAL`` in WAL mode keeps every committed transaction
across a process crash (``kill -9``); only a power cut may lose the last few.

Every change of a task or workflow is one statement guarded by the state it expects
(``... WHERE id = ? AND status IN ('SCHEDULED', 'IN_PROGRESS')``, a lease that is still
held, a workflow still ``RUNNING``) and reports whether it changed anything. Callers act
on that report, never on a row they read earlier: whichever of two racing changes (a
completion and a lease expiry, say) commits first wins, and the other changes nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from .._json import COMPACT
from ..models import JsonObject, TaskStatus, WorkflowStatus

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL DEFAULT '{}',
    correlation_id TEXT,
    reason TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    end_time INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tasks (
    seq_no INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    workflow_type TEXT NOT NULL,
    task_type TEXT NOT NULL,
    ref_name TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL DEFAULT '{}',
    reason TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    retry_delay_s INTEGER NOT NULL DEFAULT 0,
    response_timeout_s INTEGER NOT NULL,
    callback_after_s INTEGER NOT NULL DEFAULT 0,
    poll_count INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    correlation_id TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    retried_task_id TEXT,
    retried INTEGER NOT NULL DEFAULT 0,
    scheduled_time INTEGER NOT NULL,
    start_time INTEGER NOT NULL DEFAULT 0,
    first_start_time INTEGER NOT NULL DEFAULT 0,
    end_time INTEGER NOT NULL DEFAULT 0,
    update_time INTEGER NOT NULL,
    -- when set, the task waits in its queue and may be polled from this time on
    visible_at INTEGER,
    -- when set, the task is leased to worker_id until this time
    lease_until INTEGER
);
-- A poll reads its queue in this index's order, so leasing the next task costs the
-- same with ten tasks queued as with a million (no sort of the queue per poll).
DROP INDEX IF EXISTS tasks_queue;
CREATE INDEX IF NOT EXISTS tasks_queue_order
    ON tasks (task_type, domain, priority DESC, visible_at, seq_no) WHERE visible_at IS NOT NULL;
-- The timer's questions: which delayed task appears next, which appeared meanwhile.
CREATE INDEX IF NOT EXISTS tasks_visible ON tasks (visible_at) WHERE visible_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_leases ON tasks (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_workflow ON tasks (workflow_id, seq_no);
CREATE TABLE IF NOT EXISTS task_logs (
    task_id TEXT NOT NULL,
    log TEXT NOT NULL,
    created_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS task_logs_by_task ON task_logs (task_id);
CREATE TABLE IF NOT EXISTS workflow_defs (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS task_defs (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
"""


@attrs.frozen
class TaskRow:
    """One task attempt as stored."""

    seq_no: int
    id: str
    workflow_id: str
    workflow_type: str
    task_type: str
    ref_name: str
    domain: str
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
    worker_id: str | None
    correlation_id: str | None
    priority: int
    retried_task_id: str | None
    retried: bool
    scheduled_time: int
    start_time: int
    first_start_time: int
    end_time: int
    update_time: int
    visible_at: int | None
    lease_until: int | None

    @property
    def seq_in_workflow(self) -> int:
        """Conductor's ``seq``: attempts of the one task are numbered from 1."""
        return self.retry_count + 1


@attrs.frozen
class WorkflowRow:
    """One workflow execution as stored."""

    id: str
    name: str
    version: int
    status: WorkflowStatus
    input: JsonObject
    output: JsonObject
    correlation_id: str | None
    reason: str | None
    priority: int
    create_time: int
    update_time: int
    end_time: int


@attrs.frozen
class WorkflowSummary:
    """Where a workflow stands, without its input (and its output unless asked for)."""

    id: str
    status: WorkflowStatus
    correlation_id: str | None
    output: JsonObject | None
    """None unless it was asked for."""


@attrs.frozen
class Touched:
    """What a guarded change of one task reports when it changed the task."""

    workflow_id: str
    task_type: str
    domain: str
    output: str
    """The task's output after the change, as stored (JSON text)."""


@attrs.frozen
class TaskState:
    """Where a task stands, read to explain why a change did not apply."""

    status: TaskStatus
    task_type: str
    domain: str


@attrs.frozen
class NewTask:
    """What it takes to schedule a task attempt."""

    id: str
    workflow_id: str
    workflow_type: str
    task_type: str
    ref_name: str
    domain: str
    input: JsonObject
    max_attempts: int
    retry_delay_s: int
    response_timeout_s: int
    correlation_id: str | None
    priority: int
    visible_at: int
    retry_count: int = 0
    retried_task_id: str | None = None


DefinitionKind = Literal["task", "workflow"]
_DEFINITION_TABLES: dict[DefinitionKind, str] = {"task": "task_defs", "workflow": "workflow_defs"}

_TASK_NAMES = tuple(f.name for f in attrs.fields(TaskRow))
_WORKFLOW_NAMES = tuple(f.name for f in attrs.fields(WorkflowRow))
_TASK_COLUMNS = ", ".join(_TASK_NAMES)
_WORKFLOW_COLUMNS = ", ".join(_WORKFLOW_NAMES)


_STATUS, _INPUT, _OUTPUT, _RETRIED = (
    _TASK_NAMES.index(name) for name in ("status", "input", "output", "retried")
)


def _task_row(row: Sequence[Any]) -> TaskRow:
    # Positional: the columns are selected in the order of TaskRow's fields. This runs
    # for every task polled or updated, so it avoids building a dict per row.
    values = list(row)
    values[_STATUS] = TaskStatus(values[_STATUS])
    values[_INPUT] = json.loads(values[_INPUT])
    values[_OUTPUT] = json.loads(values[_OUTPUT])
    values[_RETRIED] = bool(values[_RETRIED])
    return TaskRow(*values)


def _workflow_row(row: Sequence[Any]) -> WorkflowRow:
    values = dict(zip(_WORKFLOW_NAMES, row, strict=True))
    values["status"] = WorkflowStatus(values["status"])
    values["input"] = json.loads(values["input"])
    values["output"] = json.loads(values["output"])
    return WorkflowRow(**values)


"""One for every call: json.dumps with any option set builds a new encoder each time."""


def _dump(data: JsonObject) -> str:
    return COMPACT.encode(data)


def _merge_output(stored: str, update: str) -> str:
    """SQL ``merge_output(output, ?)``: an update's keys over the stored output's.

    Done inside the statement that changes the task, so the merge starts from the output
    as it is at that instant, not from an earlier read.
    """
    if update == "{}":
        return stored
    if stored == "{}":
        return update
    return _dump({**json.loads(stored), **json.loads(update)})


_LIVE = f"status IN ('{TaskStatus.SCHEDULED.value}', '{TaskStatus.IN_PROGRESS.value}')"
"""An attempt that has not ended: queued, leased, or handed back for a while."""
_LEASED = f"status = '{TaskStatus.IN_PROGRESS.value}' AND lease_until IS NOT NULL"
_TOUCHED = "workflow_id, task_type, domain, output"


class Store:
    """The SQLite database of one server. Not thread-safe: one owner calls it."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at ``path``; ``":memory:"`` for none."""
        self.path = str(path)
        if self.path != ":memory:" and not os.path.exists(self.path):
            # The queue holds task inputs and outputs: readable by its owner only.
            # SQLite gives the -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.create_function("merge_output", 2, _merge_output, deterministic=True)
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: database schema version {found} is newer than this "
                f"server's ({SCHEMA_VERSION}); upgrade user-agent-sdk or use another --db"
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection, for :class:`GroupCommit`, which owns the transactions."""
        return self._db

    def close(self) -> None:
        self._db.close()

    # -- workflows ---------------------------------------------------------------

    def insert_workflow(
        self,
        db: sqlite3.Connection,
        *,
        id: str,
        name: str,
        version: int,
        input: JsonObject,
        correlation_id: str | None,
        priority: int,
        now: int,
    ) -> None:
        db.execute(
            "INSERT INTO workflows (id, name, version, status, input, correlation_id, priority,"
            " create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                id,
                name,
                version,
                WorkflowStatus.RUNNING.value,
                _dump(input),
                correlation_id,
                priority,
                now,
                now,
            ),
        )

    def finish_workflow(
        self,
        db: sqlite3.Connection,
        workflow_id: str,
        status: WorkflowStatus,
        *,
        output: str | None,
        reason: str | None,
        now: int,
    ) -> bool:
        """End a ``RUNNING`` workflow; False (nothing changed) if it had already ended.

        ``output`` is JSON text as stored (a task's output), or None to keep the
        workflow's.
        """
        cursor = db.execute(
            "UPDATE workflows SET status = ?, output = coalesce(?, output), reason = ?,"
            " update_time = ?, end_time = ? WHERE id = ? AND status = ?",
            (
                status.value,
                output,
                reason,
                now,
                now,
                workflow_id,
                WorkflowStatus.RUNNING.value,
            ),
        )
        return cursor.rowcount == 1

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        row = self._db.execute(
            f"SELECT {_WORKFLOW_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,)
        ).fetchone()
        return None if row is None else _workflow_row(row)

    def workflow_summary(self, workflow_id: str, *, with_output: bool) -> WorkflowSummary | None:
        """The workflow's status and correlation id (and output): its input is not read."""
        columns = "status, correlation_id, output" if with_output else "status, correlation_id"
        row = self._db.execute(
            f"SELECT {columns} FROM workflows WHERE id = ?", (workflow_id,)
        ).fetchone()
        if row is None:
            return None
        output = json.loads(row[2]) if with_output else None
        return WorkflowSummary(workflow_id, WorkflowStatus(row[0]), row[1], output)

    def workflow_tasks(self, workflow_id: str) -> list[TaskRow]:
        rows = self._db.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE workflow_id = ? ORDER BY seq_no",
            (workflow_id,),
        ).fetchall()
        return [_task_row(row) for row in rows]

    # -- tasks -------------------------------------------------------------------

    def insert_task(self, db: sqlite3.Connection, task: NewTask, now: int) -> None:
        db.execute(
            "INSERT INTO tasks (id, workflow_id, workflow_type, task_type, ref_name, domain,"
            " status, input, retry_count, max_attempts, retry_delay_s, response_timeout_s,"
            " correlation_id, priority, retried_task_id, scheduled_time, update_time, visible_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task.id,
                task.workflow_id,
                task.workflow_type,
                task.task_type,
                task.ref_name,
                task.domain,
                TaskStatus.SCHEDULED.value,
                _dump(task.input),
                task.retry_count,
                task.max_attempts,
                task.retry_delay_s,
                task.response_timeout_s,
                task.correlation_id,
                task.priority,
                task.retried_task_id,
                now,
                now,
                task.visible_at,
            ),
        )

    def get_task(self, task_id: str) -> TaskRow | None:
        row = self._db.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        found = row.fetchone()
        return None if found is None else _task_row(found)

    def get_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskRow]:
        """The tasks of ``task_ids`` that exist, by id, read with one query per 500 ids."""
        found: dict[str, TaskRow] = {}
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for values in self._db.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id IN ({marks})", chunk
            ):
                row = _task_row(values)
                found[row.id] = row
        return found

    def leased_as(self, leases: Sequence[tuple[str, int]]) -> list[TaskRow]:
        """The tasks of ``leases`` (task id, poll count) still held by those leases, in order."""
        wanted = dict(leases)
        found = self.get_tasks(list(wanted))
        return [
            row
            for task_id, polls in leases
            if (row := found.get(task_id)) is not None
            and row.poll_count == polls
            and row.status is TaskStatus.IN_PROGRESS
            and row.lease_until is not None
        ]

    def claim(
        self,
        db: sqlite3.Connection,
        task_type: str,
        domain: str,
        count: int,
        worker_id: str | None,
        now: int,
    ) -> list[TaskRow]:
        """Lease up to ``count`` visible tasks of one queue to ``worker_id``, oldest first."""
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
            f" RETURNING {_TASK_COLUMNS}",
            (
                TaskStatus.IN_PROGRESS.value,
                now,
                worker_id,
                now,
                now,
                now,
                task_type,
                domain,
                now,
                count,
            ),
        ).fetchall()
        tasks = [_task_row(row) for row in rows]
        if len(tasks) > 1:  # RETURNING gives no order: the queue's is priority, then age
            tasks.sort(key=lambda task: (-task.priority, task.seq_no))
        return tasks

    def release(self, db: sqlite3.Connection, leases: Sequence[tuple[str, int]], now: int) -> None:
        """Put leased tasks back in their queue at once, as if never polled.

        ``leases`` are (task id, poll count) pairs as the lease handed them out: a task
        that has since been updated, timed out or leased again is left alone.
        """
        db.executemany(
            "UPDATE tasks SET status = ?, visible_at = ?, lease_until = NULL, worker_id = NULL"
            f" WHERE id = ? AND poll_count = ? AND {_LEASED}",
            [(TaskStatus.SCHEDULED.value, now, task_id, polls) for task_id, polls in leases],
        )

    def renew_lease(
        self, db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
    ) -> Touched | None:
        """Extend a held lease by the task's response timeout; None if it is not held."""
        return self._touch(
            db,
            "lease_until = ? + response_timeout_s * 1000, output = merge_output(output, ?),"
            f" update_time = ? WHERE id = ? AND {_LEASED}",
            (now, _dump(output), now, task_id),
        )

    def add_output(
        self, db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
    ) -> Touched | None:
        """Merge ``output`` into an attempt that has not ended; None if it has."""
        return self._touch(
            db,
            f"output = merge_output(output, ?), update_time = ? WHERE id = ? AND {_LIVE}",
            (_dump(output), now, task_id),
        )

    def requeue(
        self,
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
        return self._touch(
            db,
            "visible_at = ?, lease_until = NULL, callback_after_s = ?,"
            f" output = merge_output(output, ?), update_time = ? WHERE id = ? AND {_LIVE}",
            (visible_at, callback_after_s, _dump(output), now, task_id),
        )

    def complete_task(
        self, db: sqlite3.Connection, task_id: str, output: JsonObject, now: int
    ) -> Touched | None:
        """End an attempt that has not ended as ``COMPLETED``; None if it had ended."""
        return self._touch(
            db,
            "status = ?, output = merge_output(output, ?), reason = NULL, visible_at = NULL,"
            f" lease_until = NULL, end_time = ?, update_time = ? WHERE id = ? AND {_LIVE}",
            (TaskStatus.COMPLETED.value, _dump(output), now, now, task_id),
        )

    def fail_task(
        self,
        db: sqlite3.Connection,
        task_id: str,
        status: TaskStatus,
        *,
        output: JsonObject,
        reason: str,
        now: int,
    ) -> TaskRow | None:
        """End an attempt that has not ended as failed; None if it had ended.

        The row returned is the task after the change: its ``retried`` is set when
        another attempt is due (a ``FAILED`` attempt with attempts left).
        """
        retryable = status is not TaskStatus.FAILED_WITH_TERMINAL_ERROR
        row = db.execute(
            "UPDATE tasks SET status = ?, output = merge_output(output, ?), reason = ?,"
            " retried = (? AND retry_count + 1 < max_attempts), visible_at = NULL,"
            f" lease_until = NULL, end_time = ?, update_time = ? WHERE id = ? AND {_LIVE}"
            f" RETURNING {_TASK_COLUMNS}",
            (status.value, _dump(output), reason, int(retryable), now, now, task_id),
        ).fetchone()
        return None if row is None else _task_row(row)

    def expire_leases(self, db: sqlite3.Connection, now: int, limit: int) -> list[TaskRow]:
        """End up to ``limit`` attempts whose lease ran out by ``now`` as ``TIMED_OUT``.

        Oldest leases first (then oldest tasks); the rows returned are the tasks after
        the change (``retried`` set when another attempt is due). A lease renewed, or an
        attempt ended, before this runs is not touched.
        """
        due = db.execute(
            f"SELECT seq_no FROM tasks WHERE {_LEASED} AND lease_until <= ?"
            " ORDER BY lease_until, seq_no LIMIT ?",
            (now, limit),
        ).fetchall()
        ended: list[TaskRow] = []
        for (seq_no,) in due:
            # Each row guarded again by itself: the statement is what decides.
            row = db.execute(
                "UPDATE tasks SET status = ?, reason = 'task timed out: no update within"
                " responseTimeoutSeconds=' || response_timeout_s || ' (worker '"
                " || coalesce(worker_id, '?') || ')', retried = (retry_count + 1 < max_attempts),"
                " visible_at = NULL, lease_until = NULL, end_time = ?, update_time = ?"
                f" WHERE seq_no = ? AND {_LEASED} AND lease_until <= ? RETURNING {_TASK_COLUMNS}",
                (TaskStatus.TIMED_OUT.value, now, now, seq_no, now),
            ).fetchone()
            if row is not None:
                ended.append(_task_row(row))
        return ended

    def restart_leases(self, db: sqlite3.Connection, now: int) -> int:
        """Leases that ran out by ``now`` start over from ``now``; returns how many."""
        cursor = db.execute(
            "UPDATE tasks SET lease_until = ? + response_timeout_s * 1000"
            f" WHERE {_LEASED} AND lease_until <= ?",
            (now, now),
        )
        return cursor.rowcount

    def task_state(self, db: sqlite3.Connection, task_id: str) -> TaskState | None:
        """Where the task stands now (None: no task has that id)."""
        row = db.execute(
            "SELECT status, task_type, domain FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        return None if row is None else TaskState(TaskStatus(row[0]), row[1], row[2])

    def _touch(
        self, db: sqlite3.Connection, change: str, parameters: Sequence[object]
    ) -> Touched | None:
        row = db.execute(f"UPDATE tasks SET {change} RETURNING {_TOUCHED}", parameters).fetchone()
        return None if row is None else Touched(*row)

    def next_due(self, after: int) -> int | None:
        """The earliest event after ``after``: a lease running out or a delayed task appearing."""
        row = self._db.execute(
            "SELECT min(t) FROM (SELECT min(lease_until) AS t FROM tasks"
            " WHERE lease_until IS NOT NULL UNION ALL SELECT min(visible_at) FROM tasks"
            " WHERE visible_at IS NOT NULL AND visible_at > ?)",
            (after,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def queues_revealed(self, since: int, until: int) -> list[tuple[str, str]]:
        """The (task type, domain) queues where a task became visible in (since, until]."""
        return [
            (row[0], row[1])
            for row in self._db.execute(
                "SELECT DISTINCT task_type, domain FROM tasks"
                " WHERE visible_at IS NOT NULL AND visible_at > ? AND visible_at <= ?",
                (since, until),
            )
        ]

    def queue_size(self, task_type: str) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM tasks WHERE task_type = ? AND visible_at IS NOT NULL",
            (task_type,),
        ).fetchone()
        return int(row[0])

    def tasks_by_state(self) -> tuple[dict[str, int], dict[str, int]]:
        """Tasks waiting in a queue, and tasks leased now, by task type."""
        queued = self._db.execute(
            "SELECT task_type, count(*) FROM tasks WHERE visible_at IS NOT NULL GROUP BY task_type"
        ).fetchall()
        leased = self._db.execute(
            "SELECT task_type, count(*) FROM tasks WHERE lease_until IS NOT NULL GROUP BY task_type"
        ).fetchall()
        return dict(queued), dict(leased)

    def file_sizes(self) -> tuple[int, int]:
        """Bytes of the database file and of its write-ahead log (0 in memory, or none)."""
        if self.path == ":memory:":
            return 0, 0
        return _size(self.path), _size(self.path + "-wal")

    # -- logs --------------------------------------------------------------------

    def add_logs(
        self, db: sqlite3.Connection, task_id: str, lines: Sequence[tuple[str, int]]
    ) -> None:
        db.executemany(
            "INSERT INTO task_logs (task_id, log, created_time) VALUES (?, ?, ?)",
            [(task_id, text, created) for text, created in lines],
        )

    def logs(self, task_id: str) -> list[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT log, created_time FROM task_logs WHERE task_id = ? ORDER BY rowid",
            (task_id,),
        )
        return [(row[0], int(row[1])) for row in rows]

    # -- definitions -------------------------------------------------------------

    def put_definition(
        self, db: sqlite3.Connection, kind: DefinitionKind, name: str, definition: JsonObject
    ) -> None:
        """Store a task or workflow definition under its name, replacing an older one."""
        db.execute(
            f"INSERT INTO {_DEFINITION_TABLES[kind]} (name, definition) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
            (name, _dump(definition)),
        )

    def get_definition(self, kind: DefinitionKind, name: str) -> JsonObject | None:
        row = self._db.execute(
            f"SELECT definition FROM {_DEFINITION_TABLES[kind]} WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def definitions(self, kind: DefinitionKind) -> list[JsonObject]:
        rows = self._db.execute(f"SELECT definition FROM {_DEFINITION_TABLES[kind]} ORDER BY name")
        return [dict(json.loads(row[0])) for row in rows]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
