"""``benchmarks/bench_peers.py --quick`` runs end to end and writes results of the right shape.

A tiny run (this project and the raw client, no peers to install, on the no-op, the
asyncio handler and the blocking 500 ms agent workload) proves the harness: it starts
the server and the contenders, reads the server's records and writes the JSON, Markdown
and, where matplotlib is installed, the chart. Figures are not judged.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "tasks_per_s",
    "cpu_s_per_1000_tasks",
    "peak_rss_mib",
    "latency_p50_ms",
    "latency_p99_ms",
)


def test_quick_run_writes_every_figure_for_every_contender(tmp_path: Path) -> None:
    chart = importlib.util.find_spec("matplotlib") is not None
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_peers.py"),
        "--quick",
        "--contenders",
        "ours,raw",
        "--workloads",
        "noop,async-10ms-asyncio,sync-500ms",
        "--tasks",
        "50",
        "--cap",
        "120",  # generous: every task is expected to complete, however loaded the machine
        "--results",
        str(tmp_path),
        *([] if chart else ["--no-chart"]),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    result = json.loads((tmp_path / "bench.json").read_text())
    assert {"generated", "machine", "settings", "contenders", "runs"} <= result.keys()
    assert result["machine"]["cores"] >= 1
    workloads = result["settings"]["workloads"]
    assert {name: settings["tasks"] for name, settings in workloads.items()} == {
        "noop": 50,
        "async-10ms-asyncio": 50,
        "sync-500ms": 50,
    }
    assert workloads["sync-500ms"]["concurrency"] == 256
    assert set(result["contenders"]) == {"ours", "raw"}
    runs = {(run["contender"], run["workload"]): run for run in result["runs"]}
    # The raw client runs no handler: it is left out where that says nothing, and says so.
    assert set(runs) == {
        ("ours", "noop"),
        ("raw", "noop"),
        ("ours", "async-10ms-asyncio"),
        ("ours", "sync-500ms"),
    }
    assert "not run on async-10ms-asyncio, sync-500ms" in done.stdout
    for run in runs.values():
        assert "error" not in run, run
        assert run["completed"] == 50  # every output was checked by the harness
        assert not run["capped"]
        assert run["latency_completed"] == run["latency_tasks"] > 0
        for figure in FIGURES:
            assert isinstance(run[figure], float | int), (figure, run)
            # CPU time counts in clock ticks (10 ms): 50 raw-client tasks may show none.
            assert run[figure] >= 0 if figure.startswith("cpu") else run[figure] > 0, (figure, run)
            assert figure in run["ratios"]
    assert runs["ours", "noop"]["ratios"]["tasks_per_s"] == 1.0
    assert runs["ours", "noop"]["processes"] >= 1
    assert runs["ours", "noop"]["share_of_ideal"] is None  # a no-op has no ideal rate
    assert runs["ours", "async-10ms-asyncio"]["ideal_tasks_per_s"] == 3200
    assert runs["ours", "sync-500ms"]["ideal_tasks_per_s"] == 512
    assert 0 < runs["ours", "sync-500ms"]["share_of_ideal"] <= 1

    table = (tmp_path / "bench.md").read_text()
    assert "ours" in table
    assert "raw client (poll + update)" in table
    assert "(e) sync handler sleeping 500 ms, 256 at once - ideal 512 tasks/s" in table
    assert "(b-asyncio) async handler awaiting asyncio.sleep 10 ms, 32 at once" in table
    assert "(a) no-op handler" in done.stdout  # the rich table reached the terminal
    assert (tmp_path / "bench.png").exists() == chart
