"""This project beside its peers: the same tasks, server and machine, one after the other.

Contenders (``--contenders``; peers are installed once into ``.nox/peers/<name>``):
``ours`` (``useragent run -w 32``, Conductor flavour: the headline), ``ours-akabot`` (the
same in the akaBot flavour), ``user-agent-sdk`` (0.2.0, ``--workers 32``),
``conductor-python`` (2.x TaskHandler, ``thread_count=32``) and ``raw`` (batch poll + one
update per task, no handler: the standard requests' least client work).

Workloads (``--workloads``): ``noop``, ``async-10ms``, ``sync-10ms``.

For each contender and workload, on a fresh ``useragent server`` (file database, auth
required): N tasks are queued, the contender is started and drains them (``--cap``
seconds at most after its first poll), then tasks are submitted at a steady
``--latency-rate`` for ``--latency-seconds``. Figures: tasks/s (first task taken to last
completion, from the server's records), the contender's CPU seconds per 1,000 tasks and
peak RSS (its whole process tree, from /proc), p50/p99 latency from submit to completion.

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
QUICK = {"tasks": 200, "cap": 2.0, "latency_seconds": 0.5}
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
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per run (%(default)s)")
    parser.add_argument("--quick", action="store_true", help="a short run: proves the harness")
    parser.add_argument(
        "--contenders",
        help=f"comma-separated, of {', '.join(peers.ALL)} (default: all; --quick: "
        f"{', '.join(QUICK_CONTENDERS)})",
    )
    parser.add_argument("--workloads", default=",".join(peers.WORKLOADS))
    parser.add_argument(
        "--cap", type=float, default=60.0, help="seconds a contender may drain (%(default)s)"
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
        given = {"tasks": 20_000, "cap": 60.0, "latency_seconds": 10.0}
        for key, value in QUICK.items():
            if getattr(args, key) == given[key]:  # --quick does not override explicit values
                setattr(args, key, value)
    if args.server is None:
        args.server = "shared" if args.quick else "fresh"
    if args.contenders is None:
        args.contenders = ",".join(QUICK_CONTENDERS if args.quick else peers.ALL)
    if args.tasks < 1 or args.cap <= 0 or args.latency_rate <= 0 or args.latency_seconds <= 0:
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


def _run_all(
    console: Console,
    built: list[peers.Contender],
    workloads: list[str],
    options: peers.Options,
    shared_server: bool,
    after_each: Callable[[list[dict[str, Any]]], None],
) -> list[dict[str, Any]]:
    """Every contender on every workload, one after the other, with a progress bar."""
    runs: list[dict[str, Any]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with (
        Progress(*columns, TimeElapsedColumn(), console=console) as progress,
        ExitStack() as stack,
    ):
        overall = progress.add_task("runs", total=len(built) * len(workloads))
        phase = progress.add_task("", total=1)
        shared = stack.enter_context(peers.running_server()) if shared_server else None
        for workload in workloads:
            for contender in built:
                name = f"{contender.name} / {workload}"

                def on_phase(text: str, name: str = name) -> None:
                    progress.update(phase, description=f"{name}: {text}", completed=0)

                def advance(done: int, total: int) -> None:
                    progress.update(phase, completed=done, total=total)

                try:
                    run = peers.measure(contender, workload, options, on_phase, advance, shared)
                except (peers.ContenderFailed, peers.ServerFailed, records.WrongOutput) as exc:
                    console.print(f"[red]{name} failed: {exc}[/red]")
                    run = {"contender": contender.name, "workload": workload, "error": str(exc)}
                runs.append(run)
                after_each(runs)
                progress.advance(overall)
    return runs


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds the context managers, so the server and contenders are reaped.
    raise SystemExit(128 + signum)


def _measure(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    contenders = _names(args.contenders, peers.ALL, "contenders")
    workloads = _names(args.workloads, peers.WORKLOADS, "workloads")
    options = peers.Options(args.tasks, args.cap, args.latency_rate, args.latency_seconds)
    began = time.monotonic()
    built, info = _install(console, contenders)

    def result(runs: list[dict[str, Any]]) -> dict[str, Any]:
        report.add_ratios(runs)
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine.describe(),
            "settings": {
                "tasks": options.tasks,
                "quick": args.quick,
                "cap_s": options.cap_s,
                "concurrency": peers.CONCURRENCY,
                "latency_rate_per_s": options.latency_rate,
                "latency_s": options.latency_s,
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

    done = result(_run_all(console, built, workloads, options, args.server == "shared", save))
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
        chart.write_png(result, args.results / "bench.png")
    console.print(f"results in {args.results} ({result['settings']['duration_s']} s)")


if __name__ == "__main__":
    main()
