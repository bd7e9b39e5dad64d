"""How many tasks per second the embedded server itself can move.

Starts ``useragent server`` as a subprocess, queues N tasks from C client processes,
then drains them with C minimal clients (raw keep-alive HTTP/1.1: batch poll of 32 +
one update per task, no handler) and reports:

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
import multiprocessing
import os
import platform
import re
import socket
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


class _RawClient:
    """A minimal HTTP/1.1 keep-alive client: the least a client can cost the machine."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} /api{path} HTTP/1.1\r\nhost: bench\r\n"
        if body is not None:
            head += f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n"
        self._sock.sendall(head.encode() + b"\r\n" + payload)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._sock.recv(65536)
        header, _, rest = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = re.search(rb"content-length: (\d+)", header, re.IGNORECASE)
        size = int(length.group(1)) if length else 0
        while len(rest) < size:
            rest += self._sock.recv(65536)
        return status, rest


def _submitter(port: int, count: int) -> None:
    client = _RawClient(port)
    for n in range(count):
        status, _ = client.request("POST", f"/workflow/{TASK_TYPE}", {"n": n})
        assert status == 200


def _drainer(port: int, index: int) -> None:
    client = _RawClient(port)
    while True:
        status, body = client.request(
            "GET", f"/tasks/poll/batch/{TASK_TYPE}?count={BATCH}&timeout=200&workerid=b{index}"
        )
        if status == 204:
            return  # the queue stayed empty for 200 ms: drained
        for task in json.loads(body):
            result = {
                "taskId": task["taskId"],
                "workflowInstanceId": task["workflowInstanceId"],
                "workerId": f"b{index}",
                "status": "COMPLETED",
                "outputData": {"n": task["inputData"]["n"]},
            }
            status, _ = client.request("POST", "/tasks", result)
            assert status == 200


def _in_processes(target: Any, arguments: list[tuple[int, int]]) -> float:
    """Run ``target(*args)`` in one process per argument tuple; wall seconds."""
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=target, args=args) for args in arguments]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"a benchmark client failed ({process.exitcode})"
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
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--memory", action="store_true", help="use --memory instead of a file")
    parser.add_argument("--quick", action="store_true", help="2,000 tasks: proves the harness")
    args = parser.parse_args()
    tasks = 2_000 if args.quick else args.tasks

    with tempfile.TemporaryDirectory() as folder:
        store = ["--memory"] if args.memory else ["--db", str(Path(folder) / "bench.db")]
        server, api = _start_server(store)
        try:
            port = int(api.rsplit(":", 1)[1].split("/")[0])
            share = tasks // args.clients
            submit_s = _in_processes(_submitter, [(port, share)] * args.clients)
            tasks = share * args.clients
            cpu_before = _cpu_seconds(server.pid)
            drain_s = _in_processes(_drainer, [(port, i) for i in range(args.clients)])
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
    table.add_row("tasks/s (batch poll + update, end to end)", f"{result['tasks_per_s']:,.0f}")
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
