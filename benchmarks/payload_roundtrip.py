"""One task with a 1 MB input and a 1 MB output, end to end: how long, and what it costs.

A ``useragent server`` (SQLite file in a temporary folder) and ``useragent run -w 4``
(with and without ``-r``) run as processes. Each round submits one workflow whose input
holds a string of 1,000,000 characters (about 1.6 MB as UTF-8), waits for it the way
``useragent submit --wait`` does (the status summary until it ends, then the workflow
once) and checks the output. Reported per mode: the median round trip, and the server's
and the worker's CPU per round (from ``/proc``, so Linux only). Then ``useragent submit
--input-file FILE --wait`` is timed as a user runs it (a new Python process each time).

Usage: ``python benchmarks/payload_roundtrip.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

AGENT = """
from user_agent_sdk import user_agent


@user_agent(agent_id="payload-echo")
async def payload_echo(input_data):
    text = input_data["text"]
    return {"reversed": text[::-1], "nested": input_data["nested"], "chars": len(text)}
"""
TEXT_CHARS = 1_000_000
UNIT = "héllo wörld ☃ 日本語 🎉 "


def big_input() -> dict[str, Any]:
    text = (UNIT * (TEXT_CHARS // len(UNIT) + 1))[:TEXT_CHARS]
    rows = [{"id": n, "tags": ["ä", "β", str(n)]} for n in range(200)]
    return {"text": text, "nested": {"rows": rows}}


def useragent(*args: str) -> list[str]:
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def processes(folder: Path, record: bool) -> Iterator[tuple[str, int, int]]:
    """A server and a worker; yields the server's base URL and both pids."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "USERAGENT_"))}
    server = subprocess.Popen(
        useragent("server", "--port", "0", "--db", str(folder / "server.db")),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    found = re.search(r"(http://\S+)", server.stdout.readline())
    assert found, "the server did not start"
    url = found.group(1)
    (folder / "agent.py").write_text(AGENT)
    args = ["run", "agent.py", "-w", "4", *(["-r"] if record else [])]
    worker = subprocess.Popen(
        useragent(*args),
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, "CONDUCTOR_SERVER_URL": f"{url}/api"},
    )
    try:
        time.sleep(3)  # the worker imports and starts polling
        yield url, server.pid, worker.pid
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(30)


def round_trip(api: httpx.Client, body: bytes) -> dict[str, Any]:
    """Submit, wait as ``useragent submit --wait`` does, return the output."""
    workflow_id = api.post(
        "/workflow/payload-echo", content=body, headers={"content-type": "application/json"}
    ).text
    while api.get(f"/workflow/{workflow_id}/status").json()["status"] == "RUNNING":
        time.sleep(0.005)
    workflow = api.get(f"/workflow/{workflow_id}", params={"includeTasks": "false"}).json()
    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    output: dict[str, Any] = workflow["output"]
    return output


def measure(rounds: int, record: bool, data: dict[str, Any]) -> dict[str, float]:
    body = json.dumps(data, ensure_ascii=False).encode()
    walls: list[float] = []
    server_cpu: list[float] = []
    worker_cpu: list[float] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        processes(Path(folder), record) as (url, server, worker),
        httpx.Client(base_url=f"{url}/api", timeout=60) as api,
    ):
        round_trip(api, body)  # warm-up: first connections, first statements
        for _ in range(rounds):
            server_before, worker_before = cpu_s(server), cpu_s(worker)
            started = time.perf_counter()
            output = round_trip(api, body)
            walls.append(time.perf_counter() - started)
            time.sleep(0.5)  # -r: the history's writer commits after its batch window
            server_cpu.append(cpu_s(server) - server_before)
            worker_cpu.append(cpu_s(worker) - worker_before)
            assert output["reversed"] == data["text"][::-1]
    return {
        "round_trip_ms": statistics.median(walls) * 1000,
        "server_cpu_ms": statistics.median(server_cpu) * 1000,
        "worker_cpu_ms": statistics.median(worker_cpu) * 1000,
    }


def time_cli(runs: int, data: dict[str, Any]) -> float:
    """Median seconds of ``useragent submit --input-file FILE --wait``, startup included."""
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder, processes(Path(folder), False) as (url, _, _):
        source = Path(folder) / "input.json"
        source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                useragent("submit", "payload-echo", "--input-file", str(source), "--wait"),
                env={**os.environ, "CONDUCTOR_SERVER_URL": url},
                stdout=subprocess.DEVNULL,
                check=True,
            )
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    data = big_input()
    size = len(json.dumps(data, ensure_ascii=False).encode())
    print(f"input {size:,} bytes as UTF-8 JSON; {args.rounds} rounds per mode (medians)")
    for record in (False, True):
        figures = measure(args.rounds, record, data)
        mode = "useragent run -w 4 -r" if record else "useragent run -w 4   "
        print(
            f"{mode}: round trip {figures['round_trip_ms']:.0f} ms, server CPU "
            f"{figures['server_cpu_ms']:.0f} ms, worker CPU {figures['worker_cpu_ms']:.0f} ms"
        )
    seconds = time_cli(3, data)
    print(f"useragent submit --input-file FILE --wait (a new process each): {seconds:.2f} s")


if __name__ == "__main__":
    main()
