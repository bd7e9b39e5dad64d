"""Turns per second through the bridge runner (``agentproc.bridge.run_turn``).

Two trivial agents, each run at concurrency 1 and 16 (that many turns in flight in one trio
nursery, each a process of its own):

- ``sh``: a shell script that echoes the message (the runner's own cost dominates);
- ``python-sdk``: the seed's hello-world agent on this package's SDK (a Python start-up
  per turn dominates).

Every reply is checked. For each point the table gives the median turns/s over the rounds
and the bridge's own CPU time per turn (this process: spawning, pipes, parsing, reaping).
For scale, ``subprocess.run`` of the same shell agent, one at a time with no protocol at
all, is measured as the floor a one-at-a-time bridge cannot beat.

Usage: ``python benchmarks/bridge_turns.py [--rounds R] [--quick]`` (``nox -s bench`` runs
it). Results go to ``benchmarks/results/bridge_turns.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from rich.console import Console
from rich.table import Table

from agentproc.bridge import Profile, TurnInput, run_turn

RESULTS = Path(__file__).parent / "results"
CONCURRENCY = (1, 16)

SH_AGENT = '#!/bin/sh\necho "you said: $AGENT_MESSAGE"\n'
PYTHON_AGENT = """\
from agentproc import create_profile

async def handler(ctx):
    return "you said: " + ctx.message

create_profile(handler)
"""


def _agents(folder: Path) -> dict[str, Profile]:
    sh = folder / "agent.sh"
    sh.write_text(SH_AGENT)
    sh.chmod(0o755)
    python = folder / "agent.py"
    python.write_text(PYTHON_AGENT)
    return {
        "sh": Profile(command=str(sh), args=[], profile_dir=folder),
        "python-sdk": Profile(command=sys.executable, args=[str(python)], profile_dir=folder),
    }


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _turns(profile: Profile, turns: int, concurrency: int) -> float:
    """Run ``turns`` turns, ``concurrency`` at a time; returns the wall seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "PYTHON"))}
    next_turn = 0

    async def worker() -> None:
        nonlocal next_turn
        while next_turn < turns:
            n = next_turn
            next_turn += 1
            result = await run_turn(profile, TurnInput(message=f"m{n}"), environ=env)
            if not result.ok or result.reply != f"you said: m{n}":
                raise SystemExit(f"turn {n} went wrong: {result}")

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    return time.perf_counter() - started


def _measure(profile: Profile, turns: int, concurrency: int, rounds: int) -> dict[str, Any]:
    trio.run(_turns, profile, min(turns, 2 * concurrency), concurrency)  # warm-up
    rates, cpu = [], []
    for _ in range(rounds):
        cpu_before = _cpu_self()
        wall = trio.run(_turns, profile, turns, concurrency)
        cpu.append((_cpu_self() - cpu_before) / turns)
        rates.append(turns / wall)
    return {
        "turns": turns,
        "rounds": [round(rate, 1) for rate in rates],
        "turns_per_s": statistics.median(rates),
        "bridge_cpu_ms_per_turn": statistics.median(cpu) * 1000,
    }


def _floor(folder: Path, turns: int) -> float:
    """Turns/s of ``subprocess.run`` on the shell agent, one at a time, no protocol."""
    env = {**os.environ, "AGENT_MESSAGE": "x"}
    started = time.perf_counter()
    for _ in range(turns):
        subprocess.run([folder / "agent.sh"], env=env, capture_output=True, check=True)
    return turns / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, metavar="R", help="rounds per point")
    parser.add_argument("--quick", action="store_true", help="few turns: proves the harness")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    turns = {"sh": 40 if args.quick else 400, "python-sdk": 16 if args.quick else 96}
    console = Console()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as scratch:
        folder = Path(scratch)
        for name, profile in _agents(folder).items():
            for concurrency in CONCURRENCY:
                console.print(f"{name}, concurrency {concurrency} ...", style="dim")
                point = _measure(profile, turns[name], concurrency, rounds)
                results.setdefault(name, {})[f"concurrency_{concurrency}"] = point
        floor = _floor(folder, turns["sh"])

    table = Table(title="agentproc bridge: turns per second (median of rounds)")
    for column in ("agent", "concurrency", "turns/s", "bridge CPU ms/turn", "rounds"):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for name, points in results.items():
        for concurrency in CONCURRENCY:
            point = points[f"concurrency_{concurrency}"]
            table.add_row(
                name,
                str(concurrency),
                f"{point['turns_per_s']:.0f}",
                f"{point['bridge_cpu_ms_per_turn']:.2f}",
                ", ".join(f"{rate:.0f}" for rate in point["rounds"]),
            )
    console.print(table)
    console.print(f"floor: subprocess.run of the sh agent, one at a time: {floor:.0f} turns/s")

    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    document = {
        "machine": f"{machine}, Python {platform.python_version()}",
        "command": "python benchmarks/bridge_turns.py" + (" --quick" if args.quick else ""),
        "agents": results,
        "floor_subprocess_run_sh_turns_per_s": floor,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bridge_turns.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
