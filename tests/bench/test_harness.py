"""``benchmarks/bench_peers.py --quick`` runs end to end and writes results of the right shape.

A tiny run (this project and the raw client, no peers to install) proves the harness:
it starts the server and the contenders, reads the server's records and writes the
JSON, Markdown and, where matplotlib is installed, the chart. Figures are not judged.
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
        "noop",
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
    assert result["settings"]["tasks"] == 50
    assert set(result["contenders"]) == {"ours", "raw"}
    runs = {(run["contender"], run["workload"]): run for run in result["runs"]}
    assert set(runs) == {("ours", "noop"), ("raw", "noop")}
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

    table = (tmp_path / "bench.md").read_text()
    assert "ours" in table
    assert "raw client (poll + update)" in table
    assert "(a) no-op handler" in done.stdout  # the rich table reached the terminal
    assert (tmp_path / "bench.png").exists() == chart
