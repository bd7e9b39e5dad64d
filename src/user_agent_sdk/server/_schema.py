"""The server's SQLite schema, how a database is opened, and how its rows become records.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a process
crash (``kill -9``); only a power cut may lose the last few. A database written by a
newer schema version is refused rather than misread.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

import attrs

from .._json import COMPACT
from ..models import JsonObject, TaskStatus, WorkflowStatus
from ._records import TaskAttempt, WorkflowRecord

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


def open_database(path: str) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` (``":memory:"`` for none) in
    autocommit mode: :mod:`._commits` opens and commits the transactions."""
    if path != ":memory:" and not os.path.exists(path):
        # The queue holds task inputs and outputs: readable by its owner only.
        # SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.create_function("merge_output", 2, _merge_output, deterministic=True)
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        db.close()
        raise RuntimeError(
            f"{path}: database schema version {found} is newer than this "
            f"server's ({SCHEMA_VERSION}); upgrade user-agent-sdk or use another --db"
        )
    db.executescript(_SCHEMA)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return db


def dump(data: JsonObject) -> str:
    """JSON text as stored."""
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
    return dump({**json.loads(stored), **json.loads(update)})


_TASK_NAMES = tuple(f.name for f in attrs.fields(TaskAttempt))
_WORKFLOW_NAMES = tuple(f.name for f in attrs.fields(WorkflowRecord))
TASK_COLUMNS = ", ".join(_TASK_NAMES)
"""The tasks table's columns in the order of :class:`TaskAttempt`'s fields."""
WORKFLOW_COLUMNS = ", ".join(_WORKFLOW_NAMES)
"""The workflows table's columns in the order of :class:`WorkflowRecord`'s fields."""

_STATUS, _INPUT, _OUTPUT, _RETRIED = (
    _TASK_NAMES.index(name) for name in ("status", "input", "output", "retried")
)


def task_attempt(row: Sequence[Any]) -> TaskAttempt:
    """The record of a row selected as :data:`TASK_COLUMNS`."""
    # Positional: this runs for every task polled or updated, so it builds no dict per row.
    values = list(row)
    values[_STATUS] = TaskStatus(values[_STATUS])
    values[_INPUT] = json.loads(values[_INPUT])
    values[_OUTPUT] = json.loads(values[_OUTPUT])
    values[_RETRIED] = bool(values[_RETRIED])
    return TaskAttempt(*values)


def workflow_record(row: Sequence[Any]) -> WorkflowRecord:
    """The record of a row selected as :data:`WORKFLOW_COLUMNS`."""
    values = dict(zip(_WORKFLOW_NAMES, row, strict=True))
    values["status"] = WorkflowStatus(values["status"])
    values["input"] = json.loads(values["input"])
    values["output"] = json.loads(values["output"])
    return WorkflowRecord(**values)
