"""``useragent submit`` as a user runs it, against a real server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..processes import ServerProcess, run_cli, server_process


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with server_process("--memory") as running:
        yield running


def _work_off(
    server: ServerProcess,
    task_type: str,
    count: int,
    status: str,
    reason: str = "refused by the test worker",
) -> threading.Thread:
    """A worker in a thread: completes (or fails) ``count`` tasks, echoing their input."""

    def work() -> None:
        with httpx.Client(base_url=server.api_url, timeout=30) as api:
            done = 0
            while done < count:
                response = api.get(
                    f"/tasks/poll/batch/{task_type}", params={"count": 10, "timeout": 500}
                )
                if response.status_code == 204:
                    continue
                for task in response.json():
                    api.post(
                        "/tasks",
                        json={
                            "taskId": task["taskId"],
                            "status": status,
                            "outputData": {"got": task["inputData"]},
                            "reasonForIncompletion": reason,
                        },
                    )
                    done += 1

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_submit_prints_one_workflow_id_per_submission(server: ServerProcess) -> None:
    result = run_cli(["submit", "echo", "--count", "3", "--server", server.base_url])
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert len(set(ids)) == 3
    status = httpx.get(f"{server.api_url}/workflow/{ids[0]}").json()["status"]
    assert status == "RUNNING"


def test_wait_prints_each_output_as_json(server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text('{"num1": 2, "num2": 3}')
    worker = _work_off(server, "echo", 4, "COMPLETED")
    result = run_cli(
        ["submit", "echo", "--input-file", str(source), "--count", "4", "--wait"],
        env={"CONDUCTOR_SERVER_URL": server.api_url},
    )
    worker.join(10)
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert outputs == [{"got": {"num1": 2, "num2": 3}}] * 4


def test_wait_exits_1_and_names_the_failure(server: ServerProcess) -> None:
    worker = _work_off(server, "doomed", 1, "FAILED_WITH_TERMINAL_ERROR")
    result = run_cli(["submit", "doomed", "--input", "{}", "--wait", "--server", server.base_url])
    worker.join(10)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "FAILED: refused by the test worker" in result.stderr


def test_a_reason_is_shown_as_written_on_one_line(server: ServerProcess) -> None:
    reason = "cannot open [/tmp/in.json] " + "x" * 200  # no markup, whatever it looks like
    worker = _work_off(server, "odd", 1, "FAILED_WITH_TERMINAL_ERROR", reason)
    result = run_cli(["submit", "odd", "--wait", "--server", server.base_url])
    worker.join(10)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.endswith(f": FAILED: {reason}")


def test_per_submission_settings_reach_the_server(server: ServerProcess) -> None:
    result = run_cli(
        [
            "submit",
            "tuned",
            "--response-timeout",
            "7",
            "--max-attempts",
            "1",
            "--server",
            server.base_url,
        ]
    )
    assert result.returncode == 0, result.stderr
    task = httpx.get(f"{server.api_url}/tasks/poll/tuned").json()
    assert task["responseTimeoutSeconds"] == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "{not json"], "--input is not valid JSON"),
        (["--input", "[1, 2]"], "--input must be a JSON object, got list"),
        (["--input-file", "/no/such/file.json"], "cannot read --input-file /no/such/file.json"),
        (["--count", "0"], "--count must be at least 1"),
    ],
)
def test_bad_input_is_refused_with_exit_2(
    server: ServerProcess, args: list[str], message: str
) -> None:
    result = run_cli(["submit", "echo", *args, "--server", server.base_url])
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unreachable_server_is_named() -> None:
    result = run_cli(["submit", "echo", "--server", "http://127.0.0.1:9"], timeout=60)
    assert result.returncode == 1
    assert "http://127.0.0.1:9" in result.stderr
