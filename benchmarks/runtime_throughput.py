"""How fast ``useragent run -w 32`` moves tasks, what it costs, and what it costs idle.

Starts ``useragent server`` (in memory) and ``useragent run`` as subprocesses, as a user
would, and for each flavour (Conductor: batch long polls; akaBot: single polls) and
each workload (a no-op ``async`` handler; an ``async`` handler awaiting 10 ms and a sync
handler sleeping 10 ms, ideal 3,200 tasks/s at 32 workers) reports:

- tasks/s: N tasks queued first, then drained by the worker, from its first poll to
  the last result on the server;
- worker CPU seconds per 1,000 tasks (and the server's, for context: both share this
  machine's cores, so the server's ceiling bounds what any worker can reach);
- the worker's peak RSS;
- the worker's CPU use while idle on an empty queue, in % of one core.

Every output is checked after each run. Usage:
``python benchmarks/runtime_throughput.py [--tasks N] [--workers W] [--quick]``.
Results go to ``benchmarks/results/runtime_throughput.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"

WORKLOADS: dict[str, str] = {
    "noop-async": """
from user_agent_sdk import user_agent


@user_agent(agent_id="bench-noop-async")
async def noop(input_data):
    return {"n": input_data["n"]}
""",
    "sleep-10ms-async": """
import trio

from user_agent_sdk import user_agent


@user_agent(agent_id="bench-sleep-10ms-async")
async def sleepy(input_data):
    await trio.sleep(0.01)
    return {"n": input_data["n"]}
""",
    "sleep-10ms-sync": """
import time

from user_agent_sdk import user_agent


@user_agent(agent_id="bench-sleep-10ms-sync")
def sleepy(input_data):
    time.sleep(0.01)
    return {"n": input_data["n"]}
""",
}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _useragent(*args: str) -> list[str]:
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


@contextmanager
def _server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        _useragent("server", "--port", "0", "--memory", "--log-level", "warning"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"(http://\S+)", process.stdout.readline())
        if not match:
            raise SystemExit("the server did not start")
        yield process, match.group(1)
    finally:
        process.terminate()
        process.wait()


class _Api:
    """A few keep-alive connections for the harness's own calls (stdlib: cheap, threads)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        connection: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.conn = connection
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, "/api" + path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    def parallel(self, function: Callable[[int], Any], count: int, lanes: int = 8) -> list[Any]:
        with ThreadPoolExecutor(lanes) as pool:
            return list(pool.map(function, range(count)))


def _submit(api: _Api, task_type: str, count: int) -> list[str]:
    def one(n: int) -> str:
        status, body = api.call("POST", f"/workflow/{task_type}", {"n": n})
        assert status == 200, body
        return body.decode().strip()

    return api.parallel(one, count)


def _queue_size(api: _Api, task_type: str) -> int:
    status, body = api.call("GET", f"/tasks/queue/size?taskType={task_type}")
    assert status == 200, body
    return int(body)


def _workflow(api: _Api, workflow_id: str) -> dict[str, Any]:
    status, body = api.call("GET", f"/workflow/{workflow_id}?includeTasks=false")
    assert status == 200, body
    found: dict[str, Any] = json.loads(body)
    return found


def _wait_drained(api: _Api, task_type: str, ids: Sequence[str], timeout: float) -> float:
    """Wait until the queue is empty and the last tasks have ended; returns when that was."""
    deadline = time.monotonic() + timeout
    tail = list(ids[-64:])
    while time.monotonic() < deadline:
        if _queue_size(api, task_type) == 0:
            tail = [wid for wid in tail if _workflow(api, wid)["status"] == "RUNNING"]
            if not tail:
                return time.perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"{task_type}: not drained within {timeout} s")


def _check_outputs(api: _Api, ids: Sequence[str]) -> None:
    def check(index: int) -> None:
        found = _workflow(api, ids[index])
        assert found["status"] == "COMPLETED", found
        assert found["output"] == {"n": index}, found

    api.parallel(check, len(ids))


def _worker(
    folder: Path, base_url: str, flavour: str, workload: str, workers: int
) -> subprocess.Popen[str]:
    script = folder / f"{workload}.py"
    script.write_text(WORKLOADS[workload])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "USERAGENT_"))}
    if flavour == "conductor":
        env["CONDUCTOR_SERVER_URL"] = base_url + "/api"
    else:
        credentials = {"clientId": "bench", "clientSecret": "bench", "baseUrl": base_url}
        (folder / "credentials.json").write_text(json.dumps(credentials))
    return subprocess.Popen(
        _useragent("run", str(script), "-w", str(workers), "--log-level", "warning"),
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(flavour: str, workload: str, tasks: int, workers: int, idle_s: float) -> dict[str, Any]:
    task_type = f"bench-{workload}"
    with _server() as (server, base_url), tempfile.TemporaryDirectory() as folder:
        api = _Api(base_url)
        ids = _submit(api, task_type, tasks)
        server_cpu = _cpu_seconds(server.pid)
        started = time.perf_counter()
        worker = _worker(Path(folder), base_url, flavour, workload, workers)
        try:
            # Startup (interpreter, imports) is not the runtime's throughput: count from
            # the first task taken off the queue.
            while _queue_size(api, task_type) == tasks:
                time.sleep(0.005)
            first_poll = time.perf_counter()
            worker_cpu_at_start = _cpu_seconds(worker.pid)
            ended = _wait_drained(api, task_type, ids, timeout=600)
            worker_cpu = _cpu_seconds(worker.pid) - worker_cpu_at_start
            server_cpu = _cpu_seconds(server.pid) - server_cpu
            peak_rss = _peak_rss_mib(worker.pid)
            time.sleep(2)  # let the poller's idle backoff settle
            idle_before = _cpu_seconds(worker.pid)
            time.sleep(idle_s)
            idle_cpu = _cpu_seconds(worker.pid) - idle_before
        finally:
            worker.terminate()
            _, errors = worker.communicate(timeout=60)
        if worker.returncode != 0:
            raise SystemExit(f"worker exited with {worker.returncode}:\n{errors}")
        _check_outputs(api, ids)
    return {
        "flavour": flavour,
        "workload": workload,
        "tasks": tasks,
        "workers": workers,
        "startup_s": first_poll - started,
        "tasks_per_s": tasks / (ended - first_poll),
        "worker_cpu_s_per_1000_tasks": worker_cpu / tasks * 1000,
        "server_cpu_s_per_1000_tasks": server_cpu / tasks * 1000,
        "worker_peak_rss_mib": peak_rss,
        "idle_cpu_percent_of_a_core": idle_cpu / idle_s * 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--flavour", choices=("conductor", "akabot", "both"), default="both")
    parser.add_argument("--workload", choices=(*WORKLOADS, "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="1,000 tasks, 3 s idle")
    args = parser.parse_args()
    tasks, idle = (1_000, 3.0) if args.quick else (args.tasks, args.idle)
    flavours = ("conductor", "akabot") if args.flavour == "both" else (args.flavour,)
    workloads = tuple(WORKLOADS) if args.workload == "all" else (args.workload,)

    rows = [
        _run(flavour, workload, tasks, args.workers, idle)
        for flavour in flavours
        for workload in workloads
    ]
    table = Table(title=f"useragent run -w {args.workers}: {tasks:,} tasks per run")
    for column in ("flavour", "workload", "tasks/s", "worker CPU s/1k", "server CPU s/1k"):
        table.add_column(column, justify="right")
    table.add_column("peak RSS MiB", justify="right")
    table.add_column("idle CPU %", justify="right")
    for row in rows:
        table.add_row(
            row["flavour"],
            row["workload"],
            f"{row['tasks_per_s']:,.0f}",
            f"{row['worker_cpu_s_per_1000_tasks']:.3f}",
            f"{row['server_cpu_s_per_1000_tasks']:.3f}",
            f"{row['worker_peak_rss_mib']:.1f}",
            f"{row['idle_cpu_percent_of_a_core']:.2f}",
        )
    Console(width=120).print(table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runtime_throughput.json").write_text(
        json.dumps({"machine": machine, "runs": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
