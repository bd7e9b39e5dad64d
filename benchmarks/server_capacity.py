"""How many tasks per second the embedded server itself can move.

Starts ``useragent server`` as a subprocess, queues N tasks, then drains them with a
minimal client (batch poll + one update per task, no handler) and reports:

- tasks/s end to end (client and server share this machine's cores);
- server CPU seconds per 1,000 tasks (poll + update), and the capacity that implies
  for one full core: the server's own ceiling, independent of the client;
- submissions/s;
- long-poll wake-up latency: an idle batch poll answered after a task is submitted.

Usage: ``python benchmarks/server_capacity.py [--tasks N] [--clients C] [--memory] [--quick]``
(``nox -s bench`` runs it). Results go to ``benchmarks/results/server_capacity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
TASK_TYPE = "bench"
BATCH = 32


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(store: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "user_agent_sdk.cli",
            "server",
            "--port",
            "0",
            *store,
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"(http://\S+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return process, match.group(1) + "/api"


async def _submit(api: str, count: int) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:

        async def one_by_one(indices: range) -> None:
            for n in indices:
                response = await client.post(f"/workflow/{TASK_TYPE}", json={"n": n})
                response.raise_for_status()

        async with trio.open_nursery() as nursery:
            lanes = 8
            for lane in range(lanes):
                nursery.start_soon(one_by_one, range(lane, count, lanes))
    return time.perf_counter() - started


async def _drain(api: str, count: int, clients: int) -> float:
    done = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:

        async def worker(index: int) -> None:
            nonlocal done
            while done < count:
                response = await client.get(
                    f"/tasks/poll/batch/{TASK_TYPE}",
                    params={"count": BATCH, "timeout": 200, "workerid": f"bench-{index}"},
                )
                if response.status_code == 204:
                    continue
                for task in response.json():
                    update = await client.post(
                        "/tasks",
                        json={
                            "taskId": task["taskId"],
                            "workflowInstanceId": task["workflowInstanceId"],
                            "workerId": f"bench-{index}",
                            "status": "COMPLETED",
                            "outputData": {"n": task["inputData"]["n"]},
                        },
                    )
                    update.raise_for_status()
                    done += 1

        async with trio.open_nursery() as nursery:
            for index in range(clients):
                nursery.start_soon(worker, index)
    return time.perf_counter() - started


async def _wake_latency(api: str, samples: int) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:
        answered_at = 0.0

        async def poller() -> None:
            nonlocal answered_at
            response = await client.get(
                "/tasks/poll/batch/wake", params={"count": 1, "timeout": 5000}
            )
            answered_at = time.perf_counter()
            assert response.status_code == 200

        for _ in range(samples):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(poller)
                await trio.sleep(0.2)  # the poll is now waiting on an empty queue
                submitted_at = time.perf_counter()
                await client.post("/workflow/wake", json={})
            latencies.append((answered_at - submitted_at) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent poll loops")
    parser.add_argument("--memory", action="store_true", help="use --memory instead of a file")
    parser.add_argument("--quick", action="store_true", help="2,000 tasks: proves the harness")
    args = parser.parse_args()
    tasks = 2_000 if args.quick else args.tasks

    with tempfile.TemporaryDirectory() as folder:
        store = ["--memory"] if args.memory else ["--db", str(Path(folder) / "bench.db")]
        server, api = _start_server(store)
        try:
            submit_s = trio.run(_submit, api, tasks)
            cpu_before = _cpu_seconds(server.pid)
            drain_s = trio.run(_drain, api, tasks, args.clients)
            cpu_used = _cpu_seconds(server.pid) - cpu_before
            latencies = trio.run(_wake_latency, api, 5 if args.quick else 20)
        finally:
            server.terminate()
            server.wait()

    cpu_per_1000 = cpu_used / tasks * 1000
    result: dict[str, Any] = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "store": "memory" if args.memory else "file (WAL)",
        "tasks": tasks,
        "clients": args.clients,
        "tasks_per_s": tasks / drain_s,
        "server_cpu_s_per_1000_tasks": cpu_per_1000,
        "server_capacity_tasks_per_core_s": 1000 / cpu_per_1000 if cpu_per_1000 else None,
        "submissions_per_s": tasks / submit_s,
        "wake_latency_ms_median": statistics.median(latencies),
        "wake_latency_ms_max": max(latencies),
    }
    table = Table(title=f"useragent server capacity ({result['store']}, {tasks} tasks)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("tasks/s (poll + update, end to end)", f"{result['tasks_per_s']:,.0f}")
    table.add_row("server CPU s per 1,000 tasks", f"{cpu_per_1000:.3f}")
    table.add_row(
        "server capacity, tasks/s per core", f"{result['server_capacity_tasks_per_core_s']:,.0f}"
    )
    table.add_row("submissions/s", f"{result['submissions_per_s']:,.0f}")
    table.add_row("long-poll wake-up, median ms", f"{result['wake_latency_ms_median']:.1f}")
    table.add_row("long-poll wake-up, max ms", f"{result['wake_latency_ms_max']:.1f}")
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "server_capacity.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
