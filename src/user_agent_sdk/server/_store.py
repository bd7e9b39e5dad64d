"""The server's state in SQLite: what the engine reads from it.

The calls are synchronous on purpose: each is tens of microseconds on a WAL database,
less than a hop to a worker thread would cost, and a single connection owned by the
event loop needs no locking. Reads run on that one connection, so a read made during a
write (see :mod:`._commits`) sees that write's transaction. The changes are in
:mod:`._changes`, the schema in :mod:`._schema`; what comes out is records
(:mod:`._records`), never rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import attrs

from ..models import JsonObject, TaskStatus, WorkflowStatus
from ._changes import DEFINITION_TABLES, DefinitionKind
from ._records import TaskAttempt, WorkflowRecord, WorkflowSummary
from ._schema import TASK_COLUMNS, WORKFLOW_COLUMNS, open_database, task_attempt, workflow_record


@attrs.frozen
class TaskState:
    """Where a task stands, read to explain why a change did not apply."""

    status: TaskStatus
    task_type: str
    domain: str


class Store:
    """The SQLite database of one server. Not thread-safe: one owner calls it."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at ``path``; ``":memory:"`` for none."""
        self.path = str(path)
        self._db = open_database(self.path)

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection, for :class:`GroupCommit`, which owns the transactions."""
        return self._db

    def close(self) -> None:
        self._db.close()

    # -- workflows ---------------------------------------------------------------

    def get_workflow(self, workflow_id: str) -> WorkflowRecord | None:
        row = self._db.execute(
            f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,)
        ).fetchone()
        return None if row is None else workflow_record(row)

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

    def workflow_tasks(self, workflow_id: str) -> list[TaskAttempt]:
        rows = self._db.execute(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE workflow_id = ? ORDER BY seq_no",
            (workflow_id,),
        ).fetchall()
        return [task_attempt(row) for row in rows]

    # -- tasks -------------------------------------------------------------------

    def get_task(self, task_id: str) -> TaskAttempt | None:
        row = self._db.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        found = row.fetchone()
        return None if found is None else task_attempt(found)

    def get_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskAttempt]:
        """The tasks of ``task_ids`` that exist, by id, read with one query per 500 ids."""
        found: dict[str, TaskAttempt] = {}
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for values in self._db.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE id IN ({marks})", chunk
            ):
                task = task_attempt(values)
                found[task.id] = task
        return found

    def leased_as(self, leases: Sequence[tuple[str, int]]) -> list[TaskAttempt]:
        """The tasks of ``leases`` (task id, poll count) still held by those leases, in order."""
        found = self.get_tasks([task_id for task_id, _ in leases])
        return [
            task
            for task_id, polls in leases
            if (task := found.get(task_id)) is not None
            and task.poll_count == polls
            and task.status is TaskStatus.IN_PROGRESS
            and task.lease_until is not None
        ]

    def task_state(self, task_id: str) -> TaskState | None:
        """Where the task stands now (None: no task has that id)."""
        row = self._db.execute(
            "SELECT status, task_type, domain FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        return None if row is None else TaskState(TaskStatus(row[0]), row[1], row[2])

    # -- the timer's questions -----------------------------------------------------

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

    # -- sizes -------------------------------------------------------------------

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

    # -- logs and definitions ------------------------------------------------------

    def logs(self, task_id: str) -> list[tuple[str, int]]:
        """The task's (text, epoch ms) log lines, oldest first."""
        rows = self._db.execute(
            "SELECT log, created_time FROM task_logs WHERE task_id = ? ORDER BY rowid",
            (task_id,),
        )
        return [(row[0], int(row[1])) for row in rows]

    def get_definition(self, kind: DefinitionKind, name: str) -> JsonObject | None:
        row = self._db.execute(
            f"SELECT definition FROM {DEFINITION_TABLES[kind]} WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def definitions(self, kind: DefinitionKind) -> list[JsonObject]:
        rows = self._db.execute(f"SELECT definition FROM {DEFINITION_TABLES[kind]} ORDER BY name")
        return [dict(json.loads(row[0])) for row in rows]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
