"""What ``useragent run -r`` (the execution history) costs: throughput with and without.

For each round, a fresh ``useragent server`` (in memory) gets N tasks queued, then
``useragent run -w 32`` drains them, once without and once with ``-r`` (the order
alternates between rounds, so that drift on a shared machine hits both). Reported per
mode: the median tasks/s (first task taken to last result on the server), worker CPU
seconds per 1,000 tasks and peak RSS; and the ratio with/without.

Every run is checked: each workflow completed with its expected output, and with ``-r``
the history holds exactly N rows, one per task, whose task id, workflow id, status, input,
output and attempt are what the server recorded.

Usage: ``python benchmarks/history_overhead.py [--tasks N] [--rounds R] [--quick]``.
Results go to ``benchmarks/results/history_overhead.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from user_agent_sdk.history._writer import BATCH_WINDOW_S

RESULTS = Path(__file__).parent / "results"
WORKERS = 32
AGENT = """
from user_agent_sdk import user_agent


@user_agent(agent_id="bench-history")
async def noop(input_data):
    return {"n": input_data["n"]}
"""
T = TypeVar("T")

FIGURES = (
    "tasks_per_s",
    "worker_cpu_s_per_1000_tasks",
    "loop_cpu_s_per_1000_tasks",
    "worker_peak_rss_mib",
)
FORMATS = {
    "tasks_per_s": "{:,.0f}",
    "worker_cpu_s_per_1000_tasks": "{:.3f}",
    "loop_cpu_s_per_1000_tasks": "{:.3f}",
    "worker_peak_rss_mib": "{:.1f}",
}


class Server:
    """A ``useragent server`` process and keep-alive HTTP to it from a few threads."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        parts = urlsplit(base_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self._address, timeout=60)
            self._local.connection = connection
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, "/api" + path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{method} {path}: HTTP {response.status}: {data[:200]!r}")
        return json.loads(data) if data[:1] in (b"{", b"[") or data.isdigit() else data.decode()

    def each(self, function: Callable[[int], T], count: int) -> list[T]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(function, range(count)))


@contextmanager
def server() -> Iterator[Server]:
    command = [sys.executable, "-m", "user_agent_sdk.cli", "server", "--port", "0", "--memory"]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        if not match:
            raise SystemExit("the server did not start")
        yield Server(process, match.group(1))
    finally:
        process.terminate()
        process.wait()


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU time of a process, or of one of its threads (the main one: ``thread=pid``)."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drain(api: Server, ids: list[str], folder: Path, record: bool) -> dict[str, float]:
    """Start the worker on a full queue; measure until the queue is drained, then stop it."""
    (folder / "agent.py").write_text(AGENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDUCTOR_", "USERAGENT_"))}
    env["CONDUCTOR_SERVER_URL"] = api.base_url + "/api"
    args = ["run", "agent.py", "-w", str(WORKERS), "--log-level", "warning"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "user_agent_sdk.cli", *args, *(["-r"] if record else [])],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    size = "/tasks/queue/size?taskType=bench-history"
    try:
        while api.call("GET", size) == len(ids):
            time.sleep(0.005)
        started, cpu_at_start = time.perf_counter(), cpu_seconds(worker.pid)
        loop_at_start = cpu_seconds(worker.pid, worker.pid)
        tail = ids[-64:]
        while tail or api.call("GET", size):
            time.sleep(0.02)
            tail = [i for i in tail if api.call("GET", f"/workflow/{i}")["status"] == "RUNNING"]
        ended = time.perf_counter()
        time.sleep(BATCH_WINDOW_S)  # the last rows' batch: part of the cost of -r
        cpu, rss = cpu_seconds(worker.pid) - cpu_at_start, peak_rss_mib(worker.pid)
        loop = cpu_seconds(worker.pid, worker.pid) - loop_at_start
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=120)
    if worker.returncode != 0:
        raise SystemExit(f"the worker exited with {worker.returncode}:\n{errors}")
    return {
        "tasks_per_s": len(ids) / (ended - started),
        "worker_cpu_s_per_1000_tasks": cpu / len(ids) * 1000,
        # The event loop's thread: what bounds the worker's throughput. The rest is worker
        # threads, the history writer's among them.
        "loop_cpu_s_per_1000_tasks": loop / len(ids) * 1000,
        "worker_peak_rss_mib": rss,
    }


def check(api: Server, ids: list[str], history: Path | None) -> None:
    """Every workflow completed with its output; the history has one matching row each."""
    workflows = api.each(
        lambda n: api.call("GET", f"/workflow/{ids[n]}?includeTasks=true"), len(ids)
    )
    for n, workflow in enumerate(workflows):
        if workflow["status"] != "COMPLETED" or workflow["output"] != {"n": n}:
            raise SystemExit(f"workflow {ids[n]}: {workflow['status']} {workflow['output']}")
    if history is None:
        return
    with sqlite3.connect(history) as db:
        rows = db.execute(
            "SELECT conductor_task_id, workflow_id, user_agent_id, status, input_data, "
            "output_data, error_message, attempt FROM execution_history"
        ).fetchall()
    expected = sorted(
        (task["taskId"], workflow["workflowId"], task["taskType"], "success",
         {"n": n}, task["outputData"], None, task["retryCount"] + 1)
        for n, workflow in enumerate(workflows)
        for task in workflow["tasks"]
    )  # fmt: skip
    found = sorted(
        (task_id, workflow_id, agent, status, json.loads(data), json.loads(output), error, attempt)
        for task_id, workflow_id, agent, status, data, output, error, attempt in rows
    )
    if len(rows) != len(ids) or found != expected:
        raise SystemExit(f"the history has {len(rows)} rows for {len(ids)} tasks, or they differ")


def run_once(tasks: int, record: bool) -> dict[str, Any]:
    with server() as api, tempfile.TemporaryDirectory() as folder:
        ids = api.each(lambda n: api.call("POST", "/workflow/bench-history", {"n": n}), tasks)
        figures = drain(api, ids, Path(folder), record)
        check(api, ids, Path(folder) / "execution_history.db" if record else None)
    return {"record": record, "tasks": tasks, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode (medians)")
    parser.add_argument("--quick", action="store_true", help="2,000 tasks, 2 rounds")
    args = parser.parse_args()
    tasks, rounds = (2_000, 2) if args.quick else (args.tasks, args.rounds)

    runs: list[dict[str, Any]] = []
    paired: list[dict[str, float]] = []
    for round_ in range(rounds):
        pair: dict[bool, dict[str, Any]] = {}
        for record in (False, True) if round_ % 2 == 0 else (True, False):
            pair[record] = run_once(tasks, record)
            runs.append(pair[record])
            print(f"round {round_ + 1}, {'with' if record else 'without'} -r: "
                  f"{pair[record]['tasks_per_s']:,.0f} tasks/s", file=sys.stderr)  # fmt: skip
        # Each round's two runs are minutes apart at most: their ratio drifts less with
        # the load of a shared machine than either figure does.
        paired.append({key: pair[True][key] / pair[False][key] for key in FIGURES})

    summary = {
        mode: {
            key: float(statistics.median(run[key] for run in runs if run["record"] is record))
            for key in FIGURES
        }
        for mode, record in (("without_r", False), ("with_r", True))
    }
    ratios = {key: float(statistics.median(pair[key] for pair in paired)) for key in FIGURES}
    table = Table(title=f"useragent run -w {WORKERS}, {tasks:,} tasks, median of {rounds} runs")
    for column in ("", "tasks/s", "worker CPU s/1k", "of which event loop", "peak RSS MiB"):
        table.add_column(column, justify="right")
    for label, figures in (("without -r", summary["without_r"]), ("with -r", summary["with_r"])):
        table.add_row(label, *(FORMATS[key].format(figures[key]) for key in FIGURES))
    table.add_row("with / without*", *(f"{ratios[key]:.1%}" for key in FIGURES))
    Console().print(table)
    rounds_text = ", ".join(f"{pair['tasks_per_s']:.0%}" for pair in paired)
    Console().print(
        f"* the median of each round's ratio (throughput: {rounds_text}); every row checked"
    )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "history_overhead.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "summary": summary,
                "with_over_without": ratios,
                "rounds": paired,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
