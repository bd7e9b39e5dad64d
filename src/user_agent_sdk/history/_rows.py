"""What one row of the history holds, and how a finished task becomes one."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Literal

import attrs

from ..models import TaskResultStatus
from ..runtime import ExecutionRecord
from ._time import iso_utc, parse_stored

Status = Literal["success", "error"]
STATUSES: tuple[Status, ...] = ("success", "error")


@attrs.frozen(kw_only=True)
class Execution:
    """One stored execution: a row of the ``execution_history`` table.

    The first ten fields are the seed's columns, with the seed's meaning: ``task_id``
    and ``agent_id`` are the akaBot platform's ids (the ``__task_id__`` and
    ``__deployed_workflow_id__`` inputs; None against a plain Conductor server), and
    ``user_agent_id`` is the id the user agent serves (its Conductor task type). Rows
    written by an older version have None in the fields it did not record.
    """

    id: int
    task_id: str | None = None
    agent_id: str | None = None
    user_agent_id: str | None = None
    started_at: str | None = None
    """ISO-8601 in UTC, e.g. ``2025-01-31T08:00:00.250+00:00``."""
    ended_at: str | None = None
    status: str | None = None
    """``success`` or ``error``."""
    input_data: str | None = None
    """The task's input as JSON text (without the platform's ``__x__`` keys)."""
    output_data: str | None = None
    """The output the worker reported, as JSON text."""
    error_message: str | None = None
    conductor_task_id: str | None = None
    workflow_id: str | None = None
    attempt: int | None = None
    """1 for the first attempt, 2 for the first retry, ..."""
    duration_ms: float | None = None

    @property
    def display_task_id(self) -> str | None:
        """The platform's task id when there is one, else the Conductor task id."""
        return self.task_id or self.conductor_task_id

    @property
    def started(self) -> datetime | None:
        """``started_at`` as an aware datetime in UTC; None when it is not a time."""
        return None if self.started_at is None else parse_stored(self.started_at)


COLUMNS: tuple[str, ...] = tuple(field.name for field in attrs.fields(Execution))
"""The table's columns, in order (``id`` first)."""


def status_of(result: TaskResultStatus) -> Status:
    return "success" if result is TaskResultStatus.COMPLETED else "error"


def row_of(record: ExecutionRecord) -> tuple[Any, ...]:
    """The values of ``COLUMNS[1:]`` for a finished task."""
    return (
        record.platform_task_id,
        record.platform_agent_id,
        record.agent_id,
        iso_utc(record.started_at),
        iso_utc(record.ended_at),
        status_of(record.status),
        to_json(record.input_data),
        to_json(record.output_data),
        record.reason,
        record.task_id,
        record.workflow_instance_id,
        record.attempt,
        round(record.duration_s * 1000, 3),
    )


def to_json(value: Any) -> str:
    """Compact JSON text; never raises."""
    return _ENCODER.encode(value)


def _jsonable(value: Any) -> Any:
    # The runtime has already encoded this output for the server, so what it could send
    # (nested attrs classes, dataclasses) comes out the same; anything else is a repr
    # rather than a lost row.
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return repr(value)


# One encoder for every row: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_jsonable)
