"""The figures side by side: ratios to this project, a rich table, JSON and Markdown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from rich.console import Console
from rich.table import Table

from .agents import IDEAL_10MS_TASKS_PER_S, WORKLOAD_TITLES
from .contenders import HEADLINE
from .machine import one_line


@attrs.frozen
class Figure:
    key: str
    title: str
    """Short, for the terminal table and the chart."""
    long: str
    """For the Markdown table."""
    unit: str
    digits: int
    higher_is_better: bool


FIGURES = (
    Figure("tasks_per_s", "tasks/s", "tasks/s", "tasks/s", 0, True),
    Figure("cpu_s_per_1000_tasks", "CPU s/1k", "worker CPU s per 1,000 tasks", "s", 3, False),
    Figure("peak_rss_mib", "RSS MiB", "peak RSS MiB (all processes)", "MiB", 0, False),
    Figure("latency_p50_ms", "p50 ms", "latency p50 ms", "ms", 0, False),
    Figure("latency_p99_ms", "p99 ms", "latency p99 ms", "ms", 0, False),
)


def add_ratios(runs: list[dict[str, Any]]) -> None:
    """Give every run ``ratios``: each figure divided by this project's on that workload."""
    headline = {run["workload"]: run for run in runs if run["contender"] == HEADLINE}
    for run in runs:
        base = headline.get(run["workload"])
        ratios: dict[str, float | None] = {}
        for figure in FIGURES:
            mine = run.get(figure.key)
            theirs = None if base is None else base.get(figure.key)
            ratios[figure.key] = mine / theirs if mine is not None and theirs else None
        run["ratios"] = ratios


def _cell(run: dict[str, Any], figure: Figure) -> str:
    value = run.get(figure.key)
    if value is None:
        return "saturated" if figure.key.startswith("latency") else "-"
    text = f"{value:,.{figure.digits}f}"
    ratio = run.get("ratios", {}).get(figure.key)
    if run["contender"] != HEADLINE and ratio is not None:
        text += f" ({ratio:.2f}x)"
    return text


def _note(run: dict[str, Any]) -> str:
    if "error" in run:
        return f"failed: {run['error'].splitlines()[0]}"
    notes = []
    if run["capped"]:
        notes.append(f"capped: {run['completed']:,}/{run['tasks']:,} done")
    if run["failed"]:
        notes.append(f"{run['failed']} failed")
    if run["latency_completed"] < run["latency_tasks"]:
        notes.append(f"latency: {run['latency_completed']}/{run['latency_tasks']} done")
    return "; ".join(notes)


def _title(workload: str) -> str:
    title = WORKLOAD_TITLES[workload]
    if workload != "noop":
        title += f" - ideal {IDEAL_10MS_TASKS_PER_S:,.0f} tasks/s"
    return title


def _workloads(runs: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(run["workload"] for run in runs))


def print_tables(console: Console, result: dict[str, Any]) -> None:
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    for workload in _workloads(result["runs"]):
        table = Table(title=_title(workload), title_justify="left")
        table.add_column("contender")
        for figure in FIGURES:
            table.add_column(figure.title, justify="right")
        table.add_column("notes")
        for run in result["runs"]:
            if run["workload"] == workload:
                cells = [] if "error" in run else [_cell(run, figure) for figure in FIGURES]
                cells += [""] * (len(FIGURES) - len(cells))
                table.add_row(labels[run["contender"]], *cells, _note(run))
        console.print(table)


def markdown(result: dict[str, Any]) -> str:
    """The tables as Markdown, for the README."""
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    settings = result["settings"]
    run_kind = "a quick run" if settings["quick"] else "a full run"
    lines = [
        f"_{run_kind}: {settings['tasks']:,} tasks per contender and workload, "
        f"{settings['concurrency']} at once, cap {settings['cap_s']:g} s; latency at "
        f"{settings['latency_rate_per_s']:g} tasks/s for {settings['latency_s']:g} s; "
        f"{one_line(result['machine'])}; {result['generated']}_",
        "",
    ]
    for workload in _workloads(result["runs"]):
        lines += [f"**{_title(workload)}**", ""]
        lines.append("| contender | " + " | ".join(f.long for f in FIGURES) + " | notes |")
        lines.append("|---|" + "---:|" * len(FIGURES) + "---|")
        for run in result["runs"]:
            if run["workload"] != workload:
                continue
            cells = ["-"] * len(FIGURES) if "error" in run else [_cell(run, f) for f in FIGURES]
            lines.append(
                f"| {labels[run['contender']]} | " + " | ".join(cells) + f" | {_note(run)} |"
            )
        lines.append("")
    return "\n".join(lines)
