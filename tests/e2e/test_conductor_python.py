"""The official Conductor client, unchanged, works against ``useragent server``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..processes import ServerProcess, read_line, run_cli, server_process, stop

PEERS = Path(__file__).parent.parent / "peers"
KEY, SECRET = "peer-key", "peer-secret-value"

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # Auth is required, so the client's Orkes token flow is exercised too.
    with server_process(
        "--db",
        str(tmp_path / "server.db"),
        "--auth",
        "required",
        "--client-id",
        KEY,
        "--client-secret",
        SECRET,
    ) as running:
        yield running


def _peer_env(server: ServerProcess) -> dict[str, str]:
    return {
        **os.environ,
        "CONDUCTOR_SERVER_URL": server.api_url,
        "CONDUCTOR_AUTH_KEY": KEY,
        "CONDUCTOR_AUTH_SECRET": SECRET,
        "CONDUCTOR_REGISTER_SCHEMAS": "false",
    }


@pytest.fixture
def conductor_worker(server: ServerProcess) -> Iterator[subprocess.Popen[str]]:
    worker = subprocess.Popen(
        [sys.executable, str(PEERS / "conductor_python_worker.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_peer_env(server),
    )
    try:
        assert read_line(worker, timeout=60).strip() == "worker started"
        yield worker
    finally:
        stop(worker)


def test_task_handler_completes_100_tasks_started_by_useragent_submit(
    server: ServerProcess, conductor_worker: subprocess.Popen[str]
) -> None:
    result = run_cli(
        [
            "submit",
            "echo",
            "--input",
            '{"message": "hello"}',
            "--count",
            "100",
            "--wait",
            "--timeout",
            "120",
            "--server",
            server.base_url,
        ],
        env={"CONDUCTOR_AUTH_KEY": KEY, "CONDUCTOR_AUTH_SECRET": SECRET},
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert outputs == [{"echo": "hello"}] * 100


def test_workflow_client_starts_a_workflow_and_reads_its_output(
    server: ServerProcess, conductor_worker: subprocess.Popen[str]
) -> None:
    result = subprocess.run(
        [sys.executable, str(PEERS / "conductor_python_workflow.py"), "from the workflow client"],
        capture_output=True,
        text=True,
        timeout=90,
        env=_peer_env(server),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    workflow = json.loads(result.stdout.splitlines()[-1])
    assert workflow["status"] == "COMPLETED"
    assert workflow["output"] == {"echo": "from the workflow client"}
    assert workflow["tasks"] == 1
