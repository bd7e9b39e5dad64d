"""A history database with known rows, for the tests of ``useragent history`` and ``hd``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from user_agent_sdk.cli import main
from user_agent_sdk.history import COLUMNS, HistoryStore

LONG_ERROR = (
    "ValueError: the invoice total does not match the sum of its lines (expected 120.50)\n"
    "Traceback (most recent call last):\n  ..."
)


def _row(**fields: Any) -> list[Any]:
    defaults: dict[str, Any] = {"status": "success", "attempt": 1}
    values = {**defaults, **fields}
    return [values.get(column) for column in COLUMNS[1:]]


ROWS = [
    _row(  # id 1
        task_id="plat-task-1",
        agent_id="deployed-A",
        user_agent_id="sum-agent",
        started_at="2025-03-01T08:00:00.000+00:00",
        ended_at="2025-03-01T08:00:00.013+00:00",
        input_data=json.dumps({"num1": 1, "num2": 2}),
        output_data=json.dumps({"result": 3}),
        conductor_task_id="ctask-1",
        workflow_id="wf-1",
        duration_ms=12.5,
    ),
    _row(  # id 2
        task_id="plat-task-2",
        agent_id="deployed-A",
        user_agent_id="sum-agent",
        started_at="2025-03-01T08:01:00.000+00:00",
        ended_at="2025-03-01T08:01:02.510+00:00",
        status="error",
        input_data=json.dumps({"num1": 1, "num2": "x"}),
        output_data="{}",
        error_message=LONG_ERROR,
        conductor_task_id="ctask-2",
        workflow_id="wf-2",
        attempt=3,
        duration_ms=2510.0,
    ),
    _row(  # id 3
        user_agent_id="minus-agent",
        started_at="2025-03-01T08:02:00.000+00:00",
        ended_at="2025-03-01T08:02:00.850+00:00",
        input_data=json.dumps({"a": 5, "b": 1, "note": "naïve ☃"}),
        output_data=json.dumps({"result": 4}),
        conductor_task_id="ctask-3",
        workflow_id="wf-3",
        duration_ms=850.0,
    ),
    _row(  # id 4: values another writer stored, none of them JSON
        user_agent_id="minus-agent",
        started_at="2025-03-01T08:03:00.000+00:00",
        ended_at="2025-03-01T08:03:00.004+00:00",
        status="error",
        input_data="not json {[bold]red[/bold]",
        output_data=None,
        error_message="[red]looks like markup[/red]",
        conductor_task_id="ctask-4",
        workflow_id="wf-4",
        duration_ms=0.42,
    ),
]


def prepared_history(directory: Path, name: str = "history.db") -> Path:
    path = directory / name
    with HistoryStore.open(path, create=True) as store:
        store.add(ROWS)
    return path


def useragent(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``useragent ARGS`` in this process: its exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
