"""``useragent run --metrics-port`` and ``--log-format json`` as an operator uses them."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import httpx
import pytest
import trio

from user_agent_sdk.server import RunningServer

from ..runtime.support import all_finished, clean_env, run_cli, submit_many, worker_process

pytestmark = pytest.mark.slow

AGENT = """
    from user_agent_sdk import user_agent

    @user_agent(agent_id="observed", poll_interval=100)
    def observed(input_data: dict) -> dict:
        if input_data.get("fail"):
            raise RuntimeError("asked to fail")
        return {"ok": True}
"""


def write_agent(directory: Path) -> Path:
    path = directory / "agent.py"
    path.write_text(textwrap.dedent(AGENT))
    return path


async def test_a_worker_serves_metrics_and_logs_json_lines(
    tmp_path: Path, server: RunningServer, api: httpx.AsyncClient
) -> None:
    agent = write_agent(tmp_path)
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    args = ["run", str(agent), "--metrics-port", "0", "--log-format", "json", "-w", "2"]
    async with worker_process(args, cwd=tmp_path, env=env) as worker:
        found = await worker.wait_for(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")
        ids = await submit_many(api, "observed", [{}, {}, {"fail": True}], retryCount=0)
        await all_finished(api, ids)
        async with httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{found.group(1)}"
            with trio.fail_after(10):
                while 'status="FAILED",taskType="observed"} 1.0' not in (
                    metrics := (await http.get(f"{url}/metrics")).text
                ):
                    await trio.sleep(0.05)
            ready = await http.get(f"{url}/readyz")
        worker.signal()
        assert await worker.wait() == 0
    assert 'useragent_tasks_finished_total{status="COMPLETED",taskType="observed"} 2.0' in metrics
    assert ready.status_code == 200
    lines = [json.loads(line) for line in worker.output.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    [failed] = [line for line in lines if "asked to fail" in line["message"]]
    assert failed["level"] == "WARNING"
    assert failed["agent_id"] == "observed"
    assert failed["workflow_id"] in ids
    assert failed["task_id"]
    assert lines[-1]["message"].startswith("stopped: 2 completed, 1 failed")


async def test_a_metrics_port_in_use_is_one_clear_line_and_exit_2(
    tmp_path: Path, server: RunningServer
) -> None:
    agent = write_agent(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await run_cli(
            ["run", str(agent), "--metrics-port", str(port)],
            cwd=tmp_path,
            env=clean_env(CONDUCTOR_SERVER_URL=server.api_url),
        )
    assert code == 2, output
    assert f"useragent run: cannot serve metrics on 127.0.0.1:{port}: " in output
    assert "--metrics-port" in output.splitlines()[-1]


async def test_a_port_out_of_range_is_refused_by_the_parser(tmp_path: Path) -> None:
    code, output = await run_cli(["run", "agent.py", "--metrics-port", "70000"], cwd=tmp_path)
    assert code == 2
    assert "a port is 0-65535, not 70000" in output
