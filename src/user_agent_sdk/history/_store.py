"""Reading and writing one history database, synchronously, from one thread at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

import attrs

from ..runtime import ExecutionRecord
from ._rows import COLUMNS, Execution, Status, row_of
from ._schema import TABLE, connect
from ._stats import AgentSummary, summarize
from ._time import to_utc

DEFAULT_DB_PATH = Path("execution_history.db")
"""Where ``useragent run -r`` records and ``useragent history`` reads: the working directory."""

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
_PAYLOADS = ("input_data", "output_data")
_SELECT_WITHOUT_PAYLOADS = "SELECT {} FROM {}".format(
    ", ".join("NULL" if column in _PAYLOADS else column for column in COLUMNS), TABLE
)
_VALUES = f"({', '.join('?' * len(COLUMNS[1:]))})"
_CHUNKS = (256, 64, 16, 4, 1)
"""Rows per INSERT statement: a batch is cut into these sizes, so that the few prepared
statements are reused (a statement per batch length would fill the cache with big ones)."""


_INSERTS = {
    size: f"INSERT INTO {TABLE} ({', '.join(COLUMNS[1:])}) VALUES {', '.join([_VALUES] * size)}"
    for size in _CHUNKS
}


@attrs.frozen(kw_only=True)
class ExecutionFilter:
    """Which executions to list: every field set must match (None matches anything)."""

    agent_id: str | None = None
    user_agent_id: str | None = None
    status: Status | None = None
    since: datetime | None = None
    """Started at or after this moment (a naive one is local time)."""

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause (or ``""``) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("agent_id", self.agent_id),
            ("user_agent_id", self.user_agent_id),
            ("status", self.status),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("started_at >= ?")
            params.append(to_utc(self.since))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class HistoryStore:
    """One open history database.

    Not thread-safe: use an instance from one thread at a time (the writer of ``-r``
    hands it from call to call of ``trio.to_thread``, one call at a time).
    ``with HistoryStore.open(path) as store:`` closes it at the end.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        # Many rows per INSERT: the sqlite3 module lets go of the GIL around each statement
        # it steps, and from a worker thread every such hand-over costs the event loop's
        # thread a wake-up; executemany() would step once per row.
        variables = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        fit = variables // len(COLUMNS[1:])
        self._chunks = tuple(size for size in _CHUNKS if size <= fit)

    @classmethod
    def open(
        cls, path: str | PathLike[str] = DEFAULT_DB_PATH, *, create: bool = False
    ) -> HistoryStore:
        """Open (and migrate) the history at ``path``; see :func:`connect` for the errors."""
        path = Path(path)
        return cls(connect(path, create=create), path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, records: Iterable[ExecutionRecord]) -> int:
        """Append one row per finished task, in one transaction; returns how many."""
        return self.add([row_of(record) for record in records])

    def add(self, rows: Sequence[Sequence[Any]]) -> int:
        """Append rows of the values of ``COLUMNS[1:]``, all or none."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            start = 0
            for size in self._chunks:
                while len(rows) - start >= size:
                    chunk = rows[start : start + size]
                    self._db.execute(_INSERTS[size], [value for row in chunk for value in row])
                    start += size
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return len(rows)

    def executions(
        self,
        where: ExecutionFilter | None = None,
        *,
        limit: int | None = 50,
        payloads: bool = True,
    ) -> list[Execution]:
        """Matching executions, newest first (by start time, then id).

        With ``payloads=False`` their ``input_data`` and ``output_data`` are None, not
        read: a row holds whatever its task was given and returned, megabytes too.
        """
        clause, params = (where or ExecutionFilter()).where()
        select = _SELECT if payloads else _SELECT_WITHOUT_PAYLOADS
        sql = f"{select}{clause} ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            Execution(**dict(zip(COLUMNS, row, strict=True)))
            for row in self._db.execute(sql, params)
        ]

    def execution(self, execution_id: int) -> Execution | None:
        """The execution with this id, if there is one."""
        row = self._db.execute(f"{_SELECT} WHERE id = ?", (execution_id,)).fetchone()
        return None if row is None else Execution(**dict(zip(COLUMNS, row, strict=True)))

    def count(self, where: ExecutionFilter | None = None) -> int:
        clause, params = (where or ExecutionFilter()).where()
        found: int = self._db.execute(f"SELECT count(*) FROM {TABLE}{clause}", params).fetchone()[0]
        return found

    def summaries(self, where: ExecutionFilter | None = None) -> list[AgentSummary]:
        """Per user agent: executions, successes, p50/p95/max duration."""
        clause, params = (where or ExecutionFilter()).where()
        rows = self._db.execute(
            f"SELECT user_agent_id, status, duration_ms FROM {TABLE}{clause}", params
        )
        return summarize(rows)
