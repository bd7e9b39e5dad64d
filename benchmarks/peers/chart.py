"""The PNG bar chart: one panel per figure, workloads along x, one bar per contender.

matplotlib is a bench-only dependency (``nox -s bench`` installs it); it is imported
here only, when a chart is asked for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .agents import WORKLOADS
from .report import FIGURES, runs_of, workload_settings

_LOG_SCALED = ("tasks_per_s", "latency_p50_ms", "latency_p99_ms")
"""The peers span orders of magnitude on these."""


def write_png(result: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure  # the Agg canvas: no display needed

    runs = [run for run in runs_of(result) if "error" not in run]
    workloads = list(dict.fromkeys(run["workload"] for run in runs))
    names = list(dict.fromkeys(run["contender"] for run in runs))
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    by_key = {(run["contender"], run["workload"]): run for run in runs}
    width = 0.8 / max(1, len(names))

    figure = Figure(figsize=(20, 9), layout="constrained")
    for index, spec in enumerate(FIGURES, start=1):
        axes = figure.add_subplot(2, 4, index)
        scale = 100 if spec.percent else 1
        for offset, name in enumerate(names):
            heights = []
            for workload in workloads:
                value = by_key.get((name, workload), {}).get(spec.key)
                heights.append(float(value) * scale if value is not None else math.nan)
            xs = [i + (offset - (len(names) - 1) / 2) * width for i in range(len(workloads))]
            axes.bar(xs, heights, width, label=labels[name])
        axes.set_xticks(range(len(workloads)), [WORKLOADS[w].tag for w in workloads])
        axes.set_title(spec.long + (", higher is better" if spec.higher_is_better else ""))
        axes.set_ylabel(spec.unit)
        if spec.key in _LOG_SCALED:
            axes.set_yscale("log")
        if spec.percent:
            axes.axhline(100, color="grey", linewidth=0.8, linestyle="--")
        if index == 1:
            handles, texts = axes.get_legend_handles_labels()
    legend_axes = figure.add_subplot(2, 4, len(FIGURES) + 1)
    legend_axes.axis("off")
    legend_axes.legend(handles, texts, loc="upper center", title="contender")
    workload_key = "\n".join(_key(result, workload) for workload in workloads)
    legend_axes.text(0.0, 0.0, workload_key, fontsize=9)
    machine = result["machine"]
    figure.suptitle(
        f"each contender on each workload - {machine['cores']} cores, "
        f"{machine['cpu']}, Python {machine['python']}"
    )
    figure.savefig(path, dpi=80)


def _key(result: dict[str, Any], workload: str) -> str:
    settings = workload_settings(result, workload)
    return (
        f"{WORKLOADS[workload].title}: {settings['concurrency']:,} at once, "
        f"{settings['tasks']:,} tasks"
    )
