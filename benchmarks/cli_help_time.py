"""Wall time of ``useragent --help``: ours beside the published user-agent-sdk 0.2.0's.

    python benchmarks/cli_help_time.py [--runs 7] [--args "--help"]

Each run starts both commands once, in alternating order, and times each process from
start to exit; the figures are the medians over the runs and the median of the per-run
ratios. The published CLI comes from the peers' venv (``.nox/peers/user-agent-sdk``,
which ``nox -s bench`` creates), or ``--published PATH``.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--args", default="--help", help="the arguments to time")
    parser.add_argument("--ours", default=str(Path(sys.executable).parent / "useragent"))
    parser.add_argument(
        "--published", default=str(ROOT / ".nox/peers/user-agent-sdk/bin/useragent")
    )
    options = parser.parse_args()
    args = shlex.split(options.args)
    ours, published = [options.ours, *args], [options.published, *args]
    wall_time(ours), wall_time(published)  # warm the file cache
    pairs = []
    for run in range(options.runs):
        if run % 2:
            theirs, mine = wall_time(published), wall_time(ours)
        else:
            mine, theirs = wall_time(ours), wall_time(published)
        pairs.append((mine, theirs))
        print(f"run {run + 1}: ours {mine * 1000:.0f} ms, published {theirs * 1000:.0f} ms")
    mine = statistics.median(pair[0] for pair in pairs)
    theirs = statistics.median(pair[1] for pair in pairs)
    ratio = statistics.median(pair[0] / pair[1] for pair in pairs)
    print(
        f"useragent {options.args}: ours {mine * 1000:.0f} ms, published {theirs * 1000:.0f} ms "
        f"(medians of {options.runs}); median ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
