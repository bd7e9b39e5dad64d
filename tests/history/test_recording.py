"""``useragent run -r``: one row per finished task attempt, matching what the server recorded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from user_agent_sdk.conductor import Task, TaskStatus
from user_agent_sdk.history import COLUMNS
from user_agent_sdk.server import RunningServer

from ..runtime.support import all_finished, clean_env, run_cli, submit_many, worker_process

pytestmark = pytest.mark.slow

AGENT = """
from user_agent_sdk import user_agent
from user_agent_sdk.utils.exception import NonRetryableException


@user_agent(agent_id="recorded")
async def recorded(input_data):
    n = input_data["n"]
    if n % 10 == 3:
        raise NonRetryableException(f"n={n} is unlucky")
    if n % 100 == 7:
        raise ValueError(f"n={n} fails every time")  # retried: three attempts
    return {"n": n, "double": 2 * n}
"""


def task_input(n: int) -> dict[str, Any]:
    if n % 5 == 0:  # as the akaBot platform sends them
        return {"n": n, "__task_id__": f"plat-{n}", "__deployed_workflow_id__": "deployed-A"}
    return {"n": n}


def rows(path: Path) -> dict[str, dict[str, Any]]:
    """The history's rows by Conductor task id (AssertionError on a duplicate)."""
    with sqlite3.connect(path) as connection:
        found = [
            dict(zip(COLUMNS, row, strict=True))
            for row in connection.execute(f"SELECT {', '.join(COLUMNS)} FROM execution_history")
        ]
    by_task = {row["conductor_task_id"]: row for row in found}
    assert len(by_task) == len(found), "a task attempt was recorded twice"
    return by_task


def assert_row_matches(row: dict[str, Any], task: Task) -> None:
    data = task.input_data
    assert row["workflow_id"] == task.workflow_instance_id
    assert row["user_agent_id"] == task.task_def_name == "recorded"
    assert row["task_id"] == data.get("__task_id__")
    assert row["agent_id"] == data.get("__deployed_workflow_id__")
    assert row["attempt"] == task.retry_count + 1
    assert json.loads(row["input_data"]) == {"n": data["n"]}
    assert json.loads(row["output_data"]) == task.output_data
    assert row["error_message"] == task.reason_for_incompletion
    expected = "success" if task.status is TaskStatus.COMPLETED else "error"
    assert row["status"] == expected, (row, task.status)
    started = datetime.fromisoformat(row["started_at"])
    ended = datetime.fromisoformat(row["ended_at"])
    assert started.utcoffset() == timedelta(0)
    assert started <= ended
    assert abs((ended - started).total_seconds() * 1000 - row["duration_ms"]) <= 1.0


async def record(
    server: RunningServer, api: httpx.AsyncClient, directory: Path, tasks: int, *extra: str
) -> tuple[list[Task], str]:
    """Run the agent with ``-r -w 32`` until ``tasks`` workflows ended; the server's attempts."""
    agent = directory / "agent.py"
    agent.write_text(textwrap.dedent(AGENT))
    ids = await submit_many(api, "recorded", [task_input(n) for n in range(tasks)])
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    args = ["run", str(agent), "-w", "32", "-r", *extra]
    async with worker_process(args, cwd=directory, env=env) as worker:
        done = await all_finished(api, ids, timeout=300)
        worker.signal(signal.SIGTERM)
        assert await worker.wait(60) == 0, worker.output
    return [task for workflow in done for task in workflow.tasks], worker.output


LONG = pytest.mark.skipif(
    not os.environ.get("USERAGENT_LONG_TESTS"),
    reason="10,000 tasks take minutes here: set USERAGENT_LONG_TESTS=1 (the benchmark runs it too)",
)


@pytest.mark.parametrize("tasks", [500, pytest.param(10_000, marks=LONG, id="10000")])
async def test_every_finished_attempt_is_one_row_matching_the_server(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path, tasks: int
) -> None:
    attempts, output = await record(server, api, tmp_path, tasks)
    recorded = rows(tmp_path / "execution_history.db")
    assert sorted(recorded) == sorted(task.task_id for task in attempts)
    assert len(recorded) == tasks + 2 * len(range(7, tasks, 100))  # three attempts each
    for task in attempts:
        assert_row_matches(recorded[task.task_id], task)
    assert (
        f"execution history: {len(recorded)} executions recorded in execution_history.db" in output
    )
    assert "WARNING user_agent_sdk.history" not in output


async def test_the_history_file_is_private_and_can_live_elsewhere(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    target = tmp_path / "records" / "agent-history.db"
    target.parent.mkdir()
    attempts, _ = await record(server, api, tmp_path, 20, "--db-path", str(target))
    assert not (tmp_path / "execution_history.db").exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(rows(target)) == len(attempts)


async def test_without_r_nothing_is_recorded(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(textwrap.dedent(AGENT))
    ids = await submit_many(api, "recorded", [{"n": 1}])
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["run", str(agent)], cwd=tmp_path, env=env) as worker:
        await all_finished(api, ids)
        worker.signal(signal.SIGTERM)
        assert await worker.wait() == 0
    assert not (tmp_path / "execution_history.db").exists()


async def test_a_history_in_a_missing_folder_stops_run_before_it_starts(tmp_path: Path) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(textwrap.dedent(AGENT))
    env = clean_env(CONDUCTOR_SERVER_URL="http://127.0.0.1:9/api")
    missing = tmp_path / "nowhere" / "h.db"
    code, output = await run_cli(
        ["run", str(agent), "-r", "--db-path", str(missing)], cwd=tmp_path, env=env
    )
    assert code == 1, output
    assert output.endswith(
        f"useragent run: cannot create the execution history {missing}: No such file or directory\n"
    )
