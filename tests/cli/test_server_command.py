"""``useragent server`` as a user runs it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from ..processes import read_line, run_cli, server_process


def test_it_prints_its_base_url_and_serves_the_api(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with server_process("--db", str(db)) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        details = read_line(server.process, timeout=5)
        assert server.api_url in details
        assert str(db) in details
        response = httpx.post(f"{server.api_url}/workflow/hello", json={})
        assert response.status_code == 200
    assert db.exists()


def test_print_credentials_points_a_worker_at_the_server(tmp_path: Path) -> None:
    with server_process(
        "--memory",
        "--print-credentials",
        "--agent-id",
        "my-agent",
        "--client-id",
        "cid",
        "--client-secret",
        "csecret",
    ) as server:
        read_line(server.process, timeout=5)
        lines = [read_line(server.process, timeout=5) for _ in range(6)]
    credentials = json.loads("".join(lines))
    assert credentials == {
        "clientId": "cid",
        "clientSecret": "csecret",
        "agentId": "my-agent",
        "baseUrl": server.base_url,
    }


def test_without_print_credentials_no_secret_is_shown() -> None:
    with server_process("--memory", "--client-id", "cid", "--client-secret", "csecret") as server:
        first_lines = read_line(server.process, timeout=5)
    server.process.wait()
    assert "csecret" not in first_lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client-id", "only-id"], "--client-id needs --client-secret"),
        (["--client-secret", "only-secret"], "--client-secret needs --client-id"),
        (["--max-attempts", "0"], "--max-attempts must be positive"),
        (["--request-timeout", "0"], "--request-timeout must be positive"),
        (["--db", "x.db", "--memory"], "not allowed with argument"),
        (["--auth", "sometimes"], "invalid choice"),
    ],
)
def test_bad_options_are_refused_with_exit_2(args: list[str], message: str) -> None:
    result = run_cli(["server", "--port", "0", *args], timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_port_in_use_is_a_clear_error() -> None:
    with server_process("--memory") as server:
        port = server.base_url.rsplit(":", 1)[1]
        result = run_cli(["server", "--port", port, "--memory"], timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_help_describes_the_options() -> None:
    result = run_cli(["server", "--help"], timeout=30)
    assert result.returncode == 0
    for option in ("--db", "--memory", "--auth", "--print-credentials", "--response-timeout"):
        assert option in result.stdout


def test_the_database_file_is_private(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with server_process("--db", str(db)):
        pass
    assert stat.S_IMODE(db.stat().st_mode) & 0o077 == 0


def test_metrics_prints_its_url_and_serves_the_servers_metrics() -> None:
    with server_process("--memory", "--metrics", "--log-format", "json") as server:
        read_line(server.process, timeout=5)  # the API and database line
        assert read_line(server.process, timeout=5).strip() == f"metrics: {server.base_url}/metrics"
        httpx.post(f"{server.api_url}/workflow/hello", json={}).raise_for_status()
        response = httpx.get(f"{server.base_url}/metrics")
    assert response.status_code == 200
    assert 'useragent_server_queue_depth{taskType="hello"} 1.0' in response.text
    assert "# TYPE useragent_server_commit_duration_seconds histogram" in response.text
