"""The history's SQLite schema, its version, and the migrations from older versions.

Version 0 is the schema of the seed's SDK (``user-agent-sdk`` 0.2): the ten seed columns,
no ``user_version``, timestamps in local time without a zone. Version 1 adds the
Conductor task id, the workflow id, the attempt and the duration, stores timestamps in
UTC, and indexes every filter of ``useragent history``. A file written by the seed's SDK
opens and migrates in one transaction; that SDK can still append to it afterwards (its
inserts name their columns, and the new ones are nullable).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ._errors import HistoryError
from ._time import parse_stored, to_utc

SCHEMA_VERSION = 1
TABLE = "execution_history"
BUSY_TIMEOUT_S = 2.0
"""How long a statement waits for another process's lock before failing."""

_SEED_COLUMNS = (
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "task_id TEXT",
    "agent_id TEXT",
    "user_agent_id TEXT",
    "started_at TEXT",
    "ended_at TEXT",
    "status TEXT CHECK (status IN ('success', 'error'))",
    "input_data TEXT",
    "output_data TEXT",
    "error_message TEXT",
)
_V1_COLUMNS = (
    "conductor_task_id TEXT",
    "workflow_id TEXT",
    "attempt INTEGER",
    "duration_ms REAL",
)
_INDEXES = {
    # The first two are the seed SDK's own names, so that its files keep theirs.
    "idx_agent_id": "agent_id",
    "idx_user_agent_id": "user_agent_id",
    "idx_status": "status",
    "idx_started_at": "started_at",
}


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """A connection to the history at ``path``, migrated to :data:`SCHEMA_VERSION`.

    ``create``: make the file (mode 0600: it holds task inputs and outputs) when it is
    missing; otherwise a missing file is a :class:`HistoryError`. So are a file that is
    not an execution history and one from a newer version. ``sqlite3.OperationalError``
    (locked, disk full) passes through: it may go away.
    """
    if not path.exists():
        if not create:
            raise HistoryError(
                f"{path}: no execution history here; record one with "
                f"`useragent run AGENT.py -r`, or pass --db-path"
            )
        _create_private(path)
    elif path.is_dir():
        raise HistoryError(f"{path} is a directory; pass the history's file with --db-path")
    db = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
    )
    try:
        _set_up(db, path)
    except sqlite3.OperationalError:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        raise HistoryError(f"{path}: not an execution history database ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db


def _create_private(path: Path) -> None:
    try:
        # SQLite gives the -wal and -shm files the mode of the database file.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise HistoryError(f"cannot create the execution history {path}: {exc.strerror}") from None


def _set_up(db: sqlite3.Connection, path: Path) -> None:
    # WAL: readers (`useragent history`) and the writer do not block each other; a commit
    # then reaches the OS without an fsync, which a process crash survives.
    db.execute("PRAGMA synchronous=NORMAL")
    if _version(db) == SCHEMA_VERSION and _has_table(db):
        return  # the common case only reads: no write lock for `useragent history`
    db.execute("BEGIN IMMEDIATE")  # re-read under the lock: another process may migrate too
    try:
        _migrate(db, path)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("PRAGMA journal_mode=WAL")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = _version(db)
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path} was written by a newer user-agent-sdk (history schema {version}, this "
            f"one reads up to {SCHEMA_VERSION}); upgrade, or pass another --db-path"
        )
    if not _has_table(db):
        if version != 0 or _table_count(db):
            raise HistoryError(
                f"{path} is a SQLite database but not an execution history "
                f"(it has no table {TABLE}); pass the history's file with --db-path"
            )
        db.execute(f"CREATE TABLE {TABLE} ({', '.join(_SEED_COLUMNS + _V1_COLUMNS)})")
    else:
        _check_seed_columns(db, path)
        for step in _STEPS[version:]:
            step(db)
    for name, column in _INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE}({column})")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _to_v1(db: sqlite3.Connection) -> None:
    for column in _V1_COLUMNS:
        db.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column}")
    db.create_function("history_utc", 1, _utc_text, deterministic=True)
    db.create_function("history_ms_between", 2, _ms_between, deterministic=True)
    # The right-hand sides all see the row as it was: duration from the old timestamps.
    db.execute(
        f"UPDATE {TABLE} SET duration_ms = history_ms_between(started_at, ended_at), "
        f"started_at = history_utc(started_at), ended_at = history_utc(ended_at)"
    )


_STEPS: tuple[Callable[[sqlite3.Connection], None], ...] = (_to_v1,)
"""``_STEPS[n]`` takes a database from version ``n`` to ``n + 1``."""


def _utc_text(text: str | None) -> str | None:
    # The seed's SDK wrote local time without a zone; text that is not a time stays.
    moment = None if text is None else parse_stored(text)
    return text if moment is None else to_utc(moment)


def _ms_between(started: str | None, ended: str | None) -> float | None:
    start = None if started is None else parse_stored(started)
    end = None if ended is None else parse_stored(ended)
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 3)


def _check_seed_columns(db: sqlite3.Connection, path: Path) -> None:
    found = {row[1] for row in db.execute(f"PRAGMA table_info({TABLE})")}
    missing = [spec.split()[0] for spec in _SEED_COLUMNS if spec.split()[0] not in found]
    if missing:
        raise HistoryError(
            f"{path}: table {TABLE} lacks the columns {', '.join(missing)}; "
            f"this is not an execution history this SDK can read"
        )


def _version(db: sqlite3.Connection) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


def _has_table(db: sqlite3.Connection) -> bool:
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchone()
    return found is not None


def _table_count(db: sqlite3.Connection) -> int:
    count: int = db.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()[0]
    return count
