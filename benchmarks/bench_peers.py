"""This project beside its peers: the same tasks, server and machine, one after the other.

Contenders (``--contenders``; peers are installed once into ``.nox/peers/<name>``):
``ours`` (``useragent run -w N``, Conductor flavour: the headline), ``ours-akabot`` (the
same in the akaBot flavour), ``user-agent-sdk`` (0.2.0, ``--workers N``),
``conductor-python`` (2.x TaskHandler, ``thread_count`` N in all) and ``raw`` (batch poll
+ one update per task, no handler: the standard requests' least client work; not run on
the agent workloads, nor on ``async-10ms-asyncio``).

Workloads (``--workloads``), N at once: ``noop``, ``async-10ms`` (this project's handler on
trio), ``async-10ms-asyncio`` (the same written for asyncio, as published agents are),
``sync-10ms`` (32), ``agent-async`` (2,000 handlers awaiting 1-3 s) and ``sync-500ms``
(256 handlers blocking 500 ms).

For each contender and workload, on a fresh ``useragent server`` (file database, auth
required): the tasks are queued, the contender is started and drains them (``--cap``
seconds at most after its first poll, or 3x the ideal drain time where that is longer),
then tasks are submitted at a steady ``--latency-rate`` for ``--latency-seconds``.
Figures: tasks/s (first task taken to last completion, from the server's records) and
its share of the ideal (N / mean handler time), the contender's CPU seconds per 1,000
tasks and peak RSS (its whole process tree, from /proc), p50/p99 latency from submit to
completion.

Writes ``bench.json``, ``bench.md`` and ``bench.png`` (unless ``--no-chart``) into
``--results`` (default ``benchmarks/results``). ``--quick`` is a short run that proves
the harness (small counts; figures are indicative only).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import peers
from peers import chart, machine, records, report
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

RESULTS = Path(__file__).parent / "results"
FULL_TASKS = 20_000
QUICK = {"cap": 2.0, "latency_seconds": 0.5}
"""--quick's settings; its tasks per run are each workload's ``quick_tasks``."""
QUICK_CONTENDERS = ("ours", "user-agent-sdk", "conductor-python", "raw")
"""--quick leaves out the akaBot flavour of this project (the full run has it) to stay short."""


def _names(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise SystemExit(f"--{what}: unknown {unknown}; choose from {', '.join(allowed)}")
    return names


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks",
        type=int,
        help=f"tasks per run (default {FULL_TASKS:,}; --quick: a few seconds' worth per workload)",
    )
    parser.add_argument("--quick", action="store_true", help="a short run: proves the harness")
    parser.add_argument(
        "--contenders",
        help=f"comma-separated, of {', '.join(peers.ALL)} (default: all; --quick: "
        f"{', '.join(QUICK_CONTENDERS)})",
    )
    parser.add_argument("--workloads", default=",".join(peers.WORKLOADS))
    parser.add_argument(
        "--cap",
        type=float,
        default=60.0,
        help="seconds a contender may drain (%(default)s), or 3x the ideal drain if longer",
    )
    parser.add_argument("--latency-rate", type=float, default=20.0, help="tasks/s (%(default)s)")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="(%(default)s)")
    parser.add_argument(
        "--server",
        choices=("fresh", "shared"),
        help="a fresh server per run (default), or one for all runs (--quick's default)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (no matplotlib)")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="BENCH_JSON",
        help="measure nothing: present the results of an earlier run again",
    )
    args = parser.parse_args()
    if args.quick:
        given = {"cap": 60.0, "latency_seconds": 10.0}
        for key, value in QUICK.items():
            if getattr(args, key) == given[key]:  # --quick does not override explicit values
                setattr(args, key, value)
    if args.server is None:
        args.server = "shared" if args.quick else "fresh"
    if args.contenders is None:
        args.contenders = ",".join(QUICK_CONTENDERS if args.quick else peers.ALL)
    bad_tasks = args.tasks is not None and args.tasks < 1
    if bad_tasks or args.cap <= 0 or args.latency_rate <= 0 or args.latency_seconds <= 0:
        raise SystemExit("--tasks, --cap, --latency-rate and --latency-seconds must be positive")
    return args


def _install(console: Console, names: list[str]) -> tuple[list[peers.Contender], dict[str, Any]]:
    built: list[peers.Contender] = []
    info: dict[str, Any] = {}
    for name in names:
        with console.status(f"preparing {name} (peers install once into .nox/peers)"):
            try:
                contender = peers.build(name)
            except (subprocess.CalledProcessError, OSError) as exc:
                console.print(f"[red]{name}: could not be installed: {exc}[/red]")
                info[name] = {"label": name, "error": str(exc)}
                continue
        built.append(contender)
        info[name] = {
            "label": contender.label,
            "version": contender.version,
            "python": contender.python,
        }
    return built, info


def _pairs(
    console: Console, built: list[peers.Contender], workloads: list[str]
) -> list[tuple[str, peers.Contender]]:
    """(workload, contender) in the order they run; says which pairs are left out, and why."""
    pairs = []
    for contender in built:
        skipped = [workload for workload in workloads if workload in contender.skipped]
        if skipped:
            console.print(
                f"{contender.label}: not run on {', '.join(skipped)}: {contender.skip_reason}"
            )
    for workload in workloads:
        pairs += [(workload, c) for c in built if workload not in c.skipped]
    return pairs


def _run_all(
    console: Console,
    pairs: list[tuple[str, peers.Contender]],
    options: dict[str, peers.Options],
    shared_server: bool,
    after_each: Callable[[list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """Every (workload, contender) pair, one after the other, with a progress bar."""
    runs: list[dict[str, Any]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with (
        Progress(*columns, TimeElapsedColumn(), console=console) as progress,
        ExitStack() as stack,
    ):
        overall = progress.add_task("runs", total=len(pairs))
        phase = progress.add_task("", total=1)
        shared = stack.enter_context(peers.running_server()) if shared_server else None
        for workload, contender in pairs:
            name = f"{contender.name} / {workload}"

            def on_phase(text: str, name: str = name) -> None:
                progress.update(phase, description=f"{name}: {text}", completed=0)

            def advance(done: int, total: int) -> None:
                progress.update(phase, completed=done, total=total)

            try:
                run = peers.measure(
                    contender, workload, options[workload], on_phase, advance, shared
                )
            except (peers.ContenderFailed, peers.ServerFailed, records.WrongOutput) as exc:
                console.print(f"[red]{name} failed: {exc}[/red]")
                run = {"contender": contender.name, "workload": workload, "error": str(exc)}
            runs.append(run)
            after_each(runs)
            progress.advance(overall)
    return runs


def _options(args: argparse.Namespace, workload: peers.Workload) -> peers.Options:
    """``workload``'s tasks and cap: --tasks (or its default) and --cap (or 3x ideal drain)."""
    tasks = args.tasks
    if tasks is None:
        tasks = workload.quick_tasks if args.quick else FULL_TASKS
    cap_s = workload.cap_s(tasks, args.cap)
    return peers.Options(tasks, cap_s, args.latency_rate, args.latency_seconds)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds the context managers, so the server and contenders are reaped.
    raise SystemExit(128 + signum)


def _measure(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    contenders = _names(args.contenders, peers.ALL, "contenders")
    workloads = _names(args.workloads, tuple(peers.WORKLOADS), "workloads")
    options = {name: _options(args, peers.WORKLOADS[name]) for name in workloads}
    began = time.monotonic()
    built, info = _install(console, contenders)
    pairs = _pairs(console, built, workloads)

    def result(runs: list[dict[str, Any]]) -> dict[str, Any]:
        report.add_ratios(runs)
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine.describe(),
            "settings": {
                "quick": args.quick,
                "workloads": {
                    name: {
                        "tasks": options[name].tasks,
                        "concurrency": peers.WORKLOADS[name].concurrency,
                        "cap_s": options[name].cap_s,
                        "ideal_tasks_per_s": peers.WORKLOADS[name].ideal_tasks_per_s,
                    }
                    for name in workloads
                },
                "latency_rate_per_s": args.latency_rate,
                "latency_s": args.latency_seconds,
                "server": "useragent server, file database (WAL) in a temp dir, "
                "--auth required, "
                + ("one for all runs" if args.server == "shared" else "a fresh one per run"),
                "duration_s": round(time.monotonic() - began, 1),
            },
            "contenders": info,
            "runs": runs,
        }

    # A long run keeps what it measured so far (JSON): present it with --from-json.
    partial = args.results / "bench.partial.tmp"  # *.tmp: ignored by git
    args.results.mkdir(parents=True, exist_ok=True)

    def save(runs: list[dict[str, Any]]) -> None:
        partial.write_text(json.dumps(result(runs), indent=2) + "\n")

    done = result(_run_all(console, pairs, options, args.server == "shared", save))
    partial.unlink(missing_ok=True)
    return done


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = _arguments()
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # a log or CI: room for the table's columns
    if args.from_json is not None:
        result: dict[str, Any] = json.loads(args.from_json.read_text())
    else:
        result = _measure(args, console)
    console.print(f"machine: {machine.one_line(result['machine'])}")
    report.print_tables(console, result)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "bench.md").write_text(report.markdown(result))
    if not args.no_chart:
        try:
            chart.write_png(result, args.results / "bench.png")
        except ModuleNotFoundError as exc:  # matplotlib: `nox -s bench` installs it
            console.print(f"no chart ({exc}): pip install matplotlib, or pass --no-chart")
    console.print(f"results in {args.results} ({result['settings']['duration_s']} s)")


if __name__ == "__main__":
    main()
