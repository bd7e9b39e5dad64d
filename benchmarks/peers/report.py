"""The figures side by side: ratios to this project, a rich table, JSON and Markdown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from rich.console import Console
from rich.table import Table

from .agents import WORKLOADS
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
    percent: bool = False
    """A fraction, shown as a percentage."""
    compared: bool = True
    """Shown with its ratio to this project's (not for a share, which tasks/s already is)."""


FIGURES = (
    Figure("tasks_per_s", "tasks/s", "tasks/s", "tasks/s", 0, True),
    Figure(
        "share_of_ideal", "% ideal", "share of ideal", "%", 0, True, percent=True, compared=False
    ),
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
        for figure in (figure for figure in FIGURES if figure.compared):
            mine = run.get(figure.key)
            theirs = None if base is None else base.get(figure.key)
            ratios[figure.key] = mine / theirs if mine is not None and theirs else None
        run["ratios"] = ratios


def _cell(run: dict[str, Any], figure: Figure) -> str:
    value = run.get(figure.key)
    if value is None:
        return "saturated" if figure.key.startswith("latency") else "-"
    if figure.percent:
        return f"{value:.0%}"
    text = f"{value:,.{figure.digits}f}"
    ratio = run.get("ratios", {}).get(figure.key)
    if run["contender"] != HEADLINE and ratio is not None:
        text += f" ({ratio:.2f}x)"
    return text


def _target(run: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """This project against what the issue asks of it on this workload ("" if nothing)."""
    workload = WORKLOADS.get(run["workload"])
    if run["contender"] != HEADLINE or workload is None or workload.target_share is None:
        return ""
    share, rss = run.get("share_of_ideal") or 0.0, run["peak_rss_mib"]
    wanted = f">= {workload.target_share:.0%} of ideal"
    met = share >= workload.target_share
    if workload.target_rss_mib is not None:
        wanted += f", <= {workload.target_rss_mib:.0f} MiB"
        met = met and rss <= workload.target_rss_mib
    if workload.target_over is None:
        return f"target {wanted}: {'met' if met else 'not met'}"
    peer, times = workload.target_over
    theirs = next(
        (
            other.get("tasks_per_s")
            for other in runs
            if other["contender"] == peer and other["workload"] == run["workload"]
        ),
        None,
    )
    if not theirs:  # not in this run, or it failed: the ratio cannot be judged
        return f"target {wanted}: {'met' if met else 'not met'}; {times:g}x {peer}: no run of it"
    over = run["tasks_per_s"] / theirs
    wanted += f", >= {times:g}x {peer} (is {over:.1f}x)"
    return f"target {wanted}: {'met' if met and over >= times else 'not met'}"


def _note(run: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """``run``'s notes; ``runs`` are the result's, for a target set against another contender."""
    if "error" in run:
        return f"failed: {run['error'].splitlines()[0]}"
    target = _target(run, runs)
    notes = [target] if target else []
    if run["capped"]:
        notes.append(f"capped: {run['completed']:,}/{run['tasks']:,} done")
    if run["failed"]:
        notes.append(f"{run['failed']} failed")
    unfinished = run["tasks"] - run["completed"] - run["failed"]
    if not run["capped"] and unfinished > 0:  # taken, never completed (lost results?)
        notes.append(f"{unfinished:,} never completed")
    if run["latency_completed"] < run["latency_tasks"]:
        notes.append(f"latency: {run['latency_completed']}/{run['latency_tasks']} done")
    return "; ".join(notes)


def workload_settings(result: dict[str, Any], workload: str) -> dict[str, Any]:
    """Tasks, concurrency, cap and ideal of ``workload`` in ``result``.

    A result written before concurrency was per workload has them once in its settings.
    """
    settings = result["settings"]
    if "workloads" in settings:
        found: dict[str, Any] = settings["workloads"][workload]
        return found
    concurrency = settings["concurrency"]
    handler_s = WORKLOADS[workload].handler_s
    return {
        "tasks": settings["tasks"],
        "concurrency": concurrency,
        "cap_s": settings["cap_s"],
        "ideal_tasks_per_s": concurrency / handler_s if handler_s else None,
    }


def _title(result: dict[str, Any], workload: str) -> str:
    settings = workload_settings(result, workload)
    title = f"{WORKLOADS[workload].title}, {settings['concurrency']:,} at once"
    if settings["ideal_tasks_per_s"]:
        title += f" - ideal {settings['ideal_tasks_per_s']:,.0f} tasks/s"
    return title


def _subtitle(result: dict[str, Any], workload: str) -> str:
    settings = workload_settings(result, workload)
    text = f"{settings['tasks']:,} tasks per run, cap {settings['cap_s']:g} s"
    ceiling = WORKLOADS[workload].ceiling_share(settings["tasks"])
    if ceiling is not None and ceiling < 0.995:
        text += f"; a runtime with no overhead would reach {ceiling:.0%} of the ideal"
    if WORKLOADS[workload].handler_s >= 0.1:
        text += "; latency includes the handler's own time (the same per task for every contender)"
    return text


def runs_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of ``result``, each with its ``share_of_ideal`` (older results lack it)."""
    runs = []
    for run in result["runs"]:
        if "error" not in run and "share_of_ideal" not in run:
            ideal = workload_settings(result, run["workload"])["ideal_tasks_per_s"]
            run = {**run, "share_of_ideal": run["tasks_per_s"] / ideal if ideal else None}
        runs.append(run)
    return runs


def _workloads(runs: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(run["workload"] for run in runs))


def print_tables(console: Console, result: dict[str, Any]) -> None:
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    runs = runs_of(result)
    for workload in _workloads(runs):
        table = Table(
            title=_title(result, workload),
            title_justify="left",
            caption=_subtitle(result, workload),
            caption_justify="left",
        )
        table.add_column("contender")
        for figure in FIGURES:
            table.add_column(figure.title, justify="right")
        table.add_column("notes")
        for run in runs:
            if run["workload"] == workload:
                cells = [] if "error" in run else [_cell(run, figure) for figure in FIGURES]
                cells += [""] * (len(FIGURES) - len(cells))
                table.add_row(labels[run["contender"]], *cells, _note(run, runs))
        console.print(table)


def markdown(result: dict[str, Any]) -> str:
    """The tables as Markdown, for the README."""
    labels = {name: info["label"] for name, info in result["contenders"].items()}
    settings = result["settings"]
    run_kind = "a quick run" if settings["quick"] else "a full run"
    lines = [
        f"_{run_kind}: latency at {settings['latency_rate_per_s']:g} tasks/s for "
        f"{settings['latency_s']:g} s; {one_line(result['machine'])}; {result['generated']}_",
        "",
    ]
    runs = runs_of(result)
    for workload in _workloads(runs):
        lines += [f"**{_title(result, workload)}**", "", f"_{_subtitle(result, workload)}_", ""]
        lines.append("| contender | " + " | ".join(f.long for f in FIGURES) + " | notes |")
        lines.append("|---|" + "---:|" * len(FIGURES) + "---|")
        for run in runs:
            if run["workload"] != workload:
                continue
            cells = ["-"] * len(FIGURES) if "error" in run else [_cell(run, f) for f in FIGURES]
            lines.append(
                f"| {labels[run['contender']]} | " + " | ".join(cells) + f" | {_note(run, runs)} |"
            )
        lines.append("")
    return "\n".join(lines)
