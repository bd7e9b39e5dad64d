"""One contender on one workload: a fresh server, a throughput phase, a latency phase.

1. A fresh ``useragent server`` (file database in a temporary directory), or one shared
   by all runs (``--quick``: it saves a start and stop per run); N tasks queued.
2. The contender is started as a user starts it; it drains the queue. A contender still
   draining ``cap_s`` after its first poll is measured on what it completed by then (a
   slow peer is rated, not waited for), and the harness clears the rest of the queue.
3. Latency: with the contender still running on the empty queue, tasks are submitted at
   a steady, light rate (the same for everyone) for a few seconds. On the agent workloads
   the latency includes the handler's own 1-3 s or 500 ms: the same for every contender
   on the same task (:mod:`.agents`), so what differs between them is the runtime's part.
4. The contender is stopped (SIGTERM to its process group), the server's records read.

The contender's process tree is sampled throughout (:mod:`proctree`); the figures come
from the server's records (:mod:`records`). ``phase_s`` in the result says where the
harness's time went."""

from __future__ import annotations

import math
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import attrs

from . import records
from .agents import WORKLOADS
from .contenders import Contender
from .processes import start_in_session, stop_session
from .proctree import TreeSampler
from .server import Api, Server, running_server

Progress = Callable[[int, int], None]
"""Told (tasks done, tasks in all) as a phase advances."""

_STARTUP_TIMEOUT_S = 120.0
_AS_HARNESS = f"workerid={records.HARNESS_WORKER}"
_MIB = 1024 * 1024
_CLEAR_BATCH = 250


@attrs.frozen
class Options:
    """How one workload is run: ``tasks`` queued, drained within ``cap_s``, then latency."""

    tasks: int
    cap_s: float
    latency_rate: float
    latency_s: float


class ContenderFailed(Exception):
    """The contender exited, or never took a task; the message ends with its log's tail."""


class _Running:
    """A started contender; :meth:`stop` may be called from any thread, more than once."""

    def __init__(self, process: subprocess.Popen[bytes], started_at: float, log: Path) -> None:
        self.process = process
        self.sampler = TreeSampler(process.pid)
        self.started_at = started_at
        self.log = log
        self._stop_lock = threading.Lock()
        self._stopped = False

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ContenderFailed(f"exited with code {self.process.returncode}:\n{_tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM its process group (SIGKILL after 10 s), reap it, stop sampling."""
        with self._stop_lock:
            if not self._stopped:
                self._stopped = True
                stop_session(self.process, grace_s=10)
                self.sampler.stop()


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def _contender(
    contender: Contender, server: Server, workload: str, task_type: str
) -> Iterator[_Running]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{contender.name}-") as name:
        folder = Path(name)
        launch = contender.launch(folder, server, workload, task_type)
        log_path = folder / "contender.log"
        with log_path.open("wb") as log:
            started = time.time()
            process = start_in_session(launch.argv, cwd=folder, env=launch.env, log=log)
            running = _Running(process, started, log_path)
            try:
                yield running
            finally:
                running.stop()


def _wait_first_poll(api: Api, running: _Running, task_type: str, queued: int) -> float:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while api.queue_size(task_type) >= queued:
        running.check_alive()
        if time.monotonic() > deadline:
            raise ContenderFailed(
                f"took no task within {_STARTUP_TIMEOUT_S:.0f} s:\n{_tail(running.log)}"
            )
        time.sleep(0.01)
    return time.time()


def _drain(
    api: Api, running: _Running, task_type: str, options: Options, progress: Progress
) -> tuple[float, bool]:
    """Wait until the queue is empty or the cap passes: (first poll at, capped)."""
    first_poll = _wait_first_poll(api, running, task_type, options.tasks)
    deadline = time.monotonic() + options.cap_s
    while True:
        left = api.queue_size(task_type)
        progress(options.tasks - left, options.tasks)
        if left == 0:
            return first_poll, False
        if time.monotonic() > deadline:
            return first_poll, True
        running.check_alive()
        time.sleep(0.1)


def _steady(
    api: Api, running: _Running, task_type: str, options: Options, progress: Progress
) -> list[records.Record]:
    """Submit at ``latency_rate`` for ``latency_s``; the records once they are done."""
    count = max(1, round(options.latency_rate * options.latency_s))
    ids: list[str] = []
    begin = time.monotonic()
    for n in range(count):
        pause = begin + n / options.latency_rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ids.append(api.submit(task_type, n))
        progress(n + 1, count)
    running.check_alive()
    return records.collect(api, ids, wait_s=max(10.0, options.latency_s))


def _clear_queue(api: Api, task_type: str) -> None:
    """Complete what a capped contender left queued, as the harness's own worker.

    The harness completes them with the right output under its own worker id, which
    :func:`records.throughput` leaves out; the contender keeps running meanwhile and may
    take a few more (counted after the cap, so not in its figures). Each request posts the
    last batch's results and leases the next (``update-batch``, this server's extension):
    one update per task took 45 s for the 13,000 tasks user-agent-sdk left on agent-async,
    its 2,000 threads polling all the while.
    """

    def lane(_: int) -> None:
        path = f"/tasks/update-batch/{task_type}?count={_CLEAR_BATCH}&{_AS_HARNESS}"
        results: list[dict[str, Any]] = []
        while True:
            answer = api.json("POST", path, results)
            if not answer["tasks"]:
                return
            results = [
                {
                    "taskId": task["taskId"],
                    "workflowInstanceId": task["workflowInstanceId"],
                    "workerId": records.HARNESS_WORKER,
                    "status": "COMPLETED",
                    "outputData": {"n": task["inputData"]["n"]},
                }
                for task in answer["tasks"]
            ]

    while api.queue_size(task_type):
        api.parallel(lane, 4)


def measure(
    contender: Contender,
    workload: str,
    options: Options,
    on_phase: Callable[[str], None],
    progress: Progress,
    shared: Server | None = None,
) -> dict[str, Any]:
    """Every figure of ``contender`` on ``workload``, as a JSON-ready dict.

    On a fresh server, or on ``shared`` (started by the caller): each run has its own task
    type, so runs on one server do not see each other's tasks.
    """
    task_type = f"bench-{workload}-{contender.name}"
    phases: dict[str, float] = {}
    current, clock = "", time.monotonic()

    def phase(name: str) -> None:
        """Enter phase ``name``; the time spent in each lands in ``phase_s``."""
        nonlocal current, clock
        now = time.monotonic()
        if current:
            phases[current] = round(now - clock, 2)
        current, clock = name, now
        on_phase(name)

    phase("server")
    with nullcontext(shared) if shared is not None else running_server() as server:
        api = Api(server)
        phase("queueing")
        ids = api.submit_many(task_type, options.tasks)
        phase("draining")
        with _contender(contender, server, workload, task_type) as running:
            first_poll, capped = _drain(api, running, task_type, options, progress)
            cap_at = time.time() if capped else None
            if capped:
                phase("clearing")
                _clear_queue(api, task_type)
            phase("latency")
            latency = _steady(api, running, task_type, options, progress)
            # Its figures are taken: it may stop while the harness reads the records.
            phase("stopping, reading records")
            stopper = threading.Thread(target=running.stop)
            stopper.start()
            done = records.collect(api, ids, wait_s=0 if capped else 30)
            stopper.join()
        phase("stopping server")
    phase("")

    until_ms = None if cap_at is None else int(cap_at * 1000)
    figures = records.throughput(done, until_ms=until_ms)
    start_s, end_s = figures.first_start_ms / 1000, figures.last_end_ms / 1000
    per_1000 = 1000 / figures.completed if figures.completed else math.nan
    ideal = WORKLOADS[workload].ideal_tasks_per_s
    delays = records.latencies_ms(latency)
    p50, p99 = records.percentile(delays, 50), records.percentile(delays, 99)
    return {
        "contender": contender.name,
        "workload": workload,
        "tasks": options.tasks,
        "concurrency": WORKLOADS[workload].concurrency,
        "cap_s": options.cap_s,
        "completed": figures.completed,
        "failed": figures.failed,
        "capped": capped,
        "startup_s": round(first_poll - running.started_at, 3),
        "window_s": figures.window_s,
        "tasks_per_s": figures.tasks_per_s,
        "ideal_tasks_per_s": ideal,
        "share_of_ideal": figures.tasks_per_s / ideal if ideal else None,
        "cpu_s_per_1000_tasks": running.sampler.cpu_between(start_s, end_s) * per_1000,
        "peak_rss_mib": running.sampler.peak_rss_bytes / _MIB,
        "processes": max((sample.processes for sample in running.sampler.samples), default=0),
        "server_cpu_s_per_1000_tasks": server.sampler.cpu_between(start_s, end_s) * per_1000,
        "latency_p50_ms": None if math.isinf(p50) else p50,
        "latency_p99_ms": None if math.isinf(p99) else p99,
        "latency_tasks": len(delays),
        "latency_completed": sum(not math.isinf(delay) for delay in delays),
        "phase_s": phases,
    }
