"""The PNG bar chart: one panel per figure, workloads along x, one bar per contender.

matplotlib is a bench-only dependency (``nox -s bench`` installs it); it is imported
here only, when a chart is asked for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .agents import WORKLOAD_TITLES
from .report import FIGURES


def write_png(result: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure  # the Agg canvas: no display needed

    runs = [run for run in result["runs"] if "error" not in run]
    workloads = list(dict.fromkeys(run["workload"] for run in runs))
    names = list(dict.fromkeys(run["contender"] for run in runs))
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    by_key = {(run["contender"], run["workload"]): run for run in runs}
    width = 0.8 / max(1, len(names))

    figure = Figure(figsize=(16, 9), layout="constrained")
    for index, spec in enumerate(FIGURES, start=1):
        axes = figure.add_subplot(2, 3, index)
        for offset, name in enumerate(names):
            heights = []
            for workload in workloads:
                value = by_key.get((name, workload), {}).get(spec.key)
                heights.append(float(value) if value is not None else math.nan)
            xs = [i + (offset - (len(names) - 1) / 2) * width for i in range(len(workloads))]
            axes.bar(xs, heights, width, label=labels[name])
        axes.set_xticks(range(len(workloads)), [WORKLOAD_TITLES[w][:3] for w in workloads])
        axes.set_title(spec.long + (", higher is better" if spec.higher_is_better else ""))
        axes.set_ylabel(spec.unit)
        if spec.key in ("tasks_per_s", "latency_p50_ms", "latency_p99_ms"):
            axes.set_yscale("log")  # the peers span orders of magnitude
        if index == 1:
            handles, texts = axes.get_legend_handles_labels()
    legend_axes = figure.add_subplot(2, 3, 6)
    legend_axes.axis("off")
    legend_axes.legend(handles, texts, loc="center", title="contender")
    workload_key = "\n".join(WORKLOAD_TITLES[w] for w in workloads)
    legend_axes.text(0.0, 0.0, workload_key, fontsize=9)
    machine = result["machine"]
    figure.suptitle(
        f"{result['settings']['tasks']:,} tasks per run, 32 at once - {machine['cores']} cores, "
        f"{machine['cpu']}, Python {machine['python']}"
    )
    figure.savefig(path, dpi=80)
