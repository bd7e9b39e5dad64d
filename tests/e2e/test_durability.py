"""``kill -9`` the server with work queued and in flight: nothing submitted or completed is lost."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..processes import server_process, stop

pytestmark = pytest.mark.slow

TOTAL = 60


def _poll(api: httpx.Client, count: int, timeout_ms: int = 0) -> list[dict[str, Any]]:
    response = api.get(
        "/tasks/poll/batch/durable",
        params={"count": count, "timeout": timeout_ms, "workerid": "w"},
    )
    return [] if response.status_code == 204 else list(response.json())


def _complete(api: httpx.Client, task: dict[str, Any]) -> None:
    response = api.post(
        "/tasks",
        json={
            "taskId": task["taskId"],
            "workflowInstanceId": task["workflowInstanceId"],
            "status": "COMPLETED",
            "outputData": {"doubled": task["inputData"]["n"] * 2},
        },
    )
    assert response.status_code == 200


def test_sigkill_with_tasks_queued_and_in_flight_loses_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "queue.db")
    options = ("--db", db, "--response-timeout", "2")
    with server_process(*options) as first:
        with httpx.Client(base_url=first.api_url) as api:
            ids = [api.post("/workflow/durable", json={"n": n}).text for n in range(TOTAL)]
            done_before = _poll(api, 15)
            for task in done_before:
                _complete(api, task)
            in_flight = _poll(api, 15)  # leased, never answered before the crash
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        stop(first.process)

    with server_process(*options) as second, httpx.Client(base_url=second.api_url) as api:
        for task in done_before:
            workflow = api.get(f"/workflow/{task['workflowInstanceId']}").json()
            assert workflow["status"] == "COMPLETED"
        # The worker that held tasks across the crash still reports them.
        for task in in_flight:
            _complete(api, task)
        deadline_polls = 100
        while deadline_polls and (batch := _poll(api, 10, timeout_ms=3000)):
            for task in batch:
                _complete(api, task)
            deadline_polls -= 1
        workflows = [api.get(f"/workflow/{workflow_id}").json() for workflow_id in ids]

    assert [w["status"] for w in workflows] == ["COMPLETED"] * TOTAL
    assert [w["output"] for w in workflows] == [{"doubled": n * 2} for n in range(TOTAL)]
    for workflow in workflows:
        completed = [t for t in workflow["tasks"] if t["status"] == "COMPLETED"]
        assert len(completed) == 1, workflow["tasks"]


def test_a_lease_held_when_the_server_died_runs_out_after_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "queue.db")
    options = ("--db", db, "--response-timeout", "1")
    with server_process(*options) as first:
        with httpx.Client(base_url=first.api_url) as api:
            workflow_id = api.post("/workflow/durable", json={"n": 21}).text
            [abandoned] = _poll(api, 1)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        stop(first.process)

    with server_process(*options) as second, httpx.Client(base_url=second.api_url) as api:
        [again] = _poll(api, 1, timeout_ms=5000)
        assert again["retryCount"] == 1
        assert again["retriedTaskId"] == abandoned["taskId"]
        _complete(api, again)
        assert api.get(f"/workflow/{workflow_id}").json()["output"] == {"doubled": 42}


def test_a_lease_that_ran_out_while_the_server_was_down_starts_over(tmp_path: Path) -> None:
    db = str(tmp_path / "queue.db")
    options = ("--db", db, "--response-timeout", "2")
    with server_process(*options) as first:
        with httpx.Client(base_url=first.api_url) as api:
            workflow_id = api.post("/workflow/durable", json={"n": 4}).text
            [held] = _poll(api, 1)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        stop(first.process)
    time.sleep(2.5)  # the lease runs out while no server could hear from the worker

    with server_process(*options) as second, httpx.Client(base_url=second.api_url) as api:
        _complete(api, held)  # the worker reports as soon as the server is back
        workflow = api.get(f"/workflow/{workflow_id}").json()
    assert (workflow["status"], workflow["output"]) == ("COMPLETED", {"doubled": 8})
    assert [(t["retryCount"], t["status"]) for t in workflow["tasks"]] == [(0, "COMPLETED")]
