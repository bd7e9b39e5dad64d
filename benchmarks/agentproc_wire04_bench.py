"""agentproc wire 0.4 beside 0.1: cold start against the published SDKs, and bridge overhead.

Run with the project's Python (the one that has this package installed)::

    python benchmarks/agentproc_wire04_bench.py              # 40 runs, 40 turns per runner
    python benchmarks/agentproc_wire04_bench.py --quick      # 5 and 5: proves the harness

Results go to ``benchmarks/results/agentproc_wire04.json`` (``--output`` to change).

**Cold start** is the wall time of ``python hello.py`` from process start to exit, for the
seed's hello-world agent (``import agentproc``, one turn, ``"hello " + ctx.message``), in
one run, alternating between: our SDK answering a wire-0.1 turn (``AGENT_*`` variables) and
a wire-0.4 turn (one stdin line), ``agentproc==0.4.2`` (0.1, the seed's SDK) and
``agentproc==0.20.0`` (0.4). The published SDKs live in scratch venvs (``.nox/peers``, as
the tests make them; created here when missing), never in the project's venv. The table
gives medians, minimums and the median CPU time (user + system) of the child.

**Bridge overhead per 0.4 turn**: each runner, in a process of its own, runs the same
stdlib-only agent (``python -I -S``: read the turn line, write one ``result``) turn after
turn; the figure is the median turn time minus the median time of starting that agent
directly (``subprocess`` with the turn on stdin), measured the same way alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEERS = ROOT / ".nox" / "peers"
TARGET_RATIO = 1.2

HELLO_AGENT = """\
from agentproc import create_profile

async def handler(ctx):
    return "hello " + ctx.message

create_profile(handler)
"""

ECHO_AGENT = """\
import json, sys
turn = json.loads(sys.stdin.readline())
sys.stdout.write(json.dumps({"type": "result", "text": "hello " + turn["message"]}) + "\\n")
"""

TURN_LINE = (
    b'{"type":"turn","message":"world","session_id":"","session_name":"default",'
    b'"protocol_version":"0.4"}\n'
)

OUR_RUNNER = """\
import json, sys, time
import trio
from agentproc.bridge import TurnInput, parse_profile, run_turn

profile = parse_profile(json.loads(sys.argv[1]), warn=lambda _: None)
count, warmup = int(sys.argv[2]), int(sys.argv[3])

async def main():
    times = []
    for index in range(warmup + count):
        started = time.perf_counter()
        result = await run_turn(profile, TurnInput(message="world"), warn=lambda _: None)
        assert result.reply == "hello world", result
        if index >= warmup:
            times.append(time.perf_counter() - started)
    print(json.dumps(times))

trio.run(main)
"""

UPSTREAM_RUNNER = """\
import json, sys, time
from agentproc.runner import RunOptions, run

profile = json.loads(sys.argv[1])
count, warmup = int(sys.argv[2]), int(sys.argv[3])
times = []
for index in range(warmup + count):
    started = time.perf_counter()
    result = run(profile, RunOptions(message="world"))
    assert result.reply == "hello world", result
    if index >= warmup:
        times.append(time.perf_counter() - started)
print(json.dumps(times))
"""

DIRECT = """\
import json, subprocess, sys, time
argv = json.loads(sys.argv[1])
count, warmup = int(sys.argv[2]), int(sys.argv[3])
line = sys.argv[4].encode() + b"\\n"
times = []
for index in range(warmup + count):
    started = time.perf_counter()
    done = subprocess.run(argv, input=line, capture_output=True, check=True)
    assert b"hello world" in done.stdout
    if index >= warmup:
        times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def scratch_python(version: str) -> Path:
    """The interpreter of a venv holding ``agentproc==version``, created when missing."""
    venv = PEERS / f"agentproc-{version}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import agentproc; assert agentproc.__version__ == {version!r}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with agentproc=={version} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"agentproc=={version}"], check=True)
    return python


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AGENT_"))}
    env.update(extra)
    return env


def run_once(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None
) -> tuple[float, float, bytes]:
    """Wall seconds, child CPU seconds and stdout of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime, out


def cold_start(workdir: Path, runs: int) -> dict[str, dict[str, float]]:
    agent = workdir / "hello.py"
    agent.write_text(HELLO_AGENT)
    wire01 = clean_env(AGENT_MESSAGE="world", AGENT_PROTOCOL_VERSION="0.1")
    wire04 = clean_env()
    contenders = {
        "ours, wire 0.1": (Path(sys.executable), wire01, None, b"hello world\n"),
        "ours, wire 0.4": (Path(sys.executable), wire04, TURN_LINE, None),
        "agentproc 0.4.2 (0.1)": (scratch_python("0.4.2"), wire01, None, b"hello world\n"),
        "agentproc 0.20.0 (0.4)": (scratch_python("0.20.0"), wire04, TURN_LINE, None),
    }
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    for name, (python, env, stdin, expected) in contenders.items():
        for _ in range(3):  # warm-up: bytecode caches written, files in the page cache
            _, _, out = run_once([str(python), agent.name], workdir, env, stdin)
        if expected is not None and out != expected:
            raise SystemExit(f"{name}: unexpected output {out!r}")
        if expected is None and json.loads(out)["text"] != "hello world":
            raise SystemExit(f"{name}: unexpected output {out!r}")
    for _ in range(runs):
        for name, (python, env, stdin, _) in contenders.items():
            wall, cpu, _ = run_once([str(python), agent.name], workdir, env, stdin)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: {
            "median_ms": statistics.median(walls[name]) * 1000,
            "min_ms": min(walls[name]) * 1000,
            "cpu_ms": statistics.median(cpus[name]) * 1000,
        }
        for name in contenders
    }


def bridge_overhead(workdir: Path, turns: int, rounds: int) -> dict[str, dict[str, float]]:
    agent = workdir / "echo.py"
    agent.write_text(ECHO_AGENT)
    base = getattr(sys, "_base_executable", sys.executable)
    argv = [base, "-I", "-S", str(agent)]
    profile = json.dumps({"agentproc": {"command": argv[0], "args": argv[1:]}})
    line = TURN_LINE.decode().strip()
    drivers = {
        "direct spawn": [sys.executable, "-c", DIRECT, json.dumps(argv)],
        "our runner": [sys.executable, "-c", OUR_RUNNER, profile],
        "agentproc 0.20.0 runner": [str(scratch_python("0.20.0")), "-c", UPSTREAM_RUNNER, profile],
    }
    times: dict[str, list[float]] = {name: [] for name in drivers}
    for index in range(rounds):  # rounds alternate, so load falls on all alike
        for name, driver in drivers.items():
            extra = [line] if name == "direct spawn" else []
            warmup = "3" if index == 0 else "1"
            done = subprocess.run(
                [*driver, str(turns), warmup, *extra],
                capture_output=True,
                check=True,
                cwd=workdir,
                env=clean_env(),
            )
            times[name] += json.loads(done.stdout)
    direct = statistics.median(times["direct spawn"])
    return {
        name: {
            "median_ms": statistics.median(values) * 1000,
            "overhead_ms": (statistics.median(values) - direct) * 1000,
            "turns": len(values),
        }
        for name, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40, help="cold-start runs per contender")
    parser.add_argument("--turns", type=int, default=40, help="0.4 turns per runner")
    parser.add_argument("--quick", action="store_true", help="5 runs, 5 turns")
    parser.add_argument("--output", type=Path, default=RESULTS / "agentproc_wire04.json")
    args = parser.parse_args()
    runs, turns = (5, 5) if args.quick else (args.runs, args.turns)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="agentproc-wire04-") as tmp:
        workdir = Path(tmp)
        print(f"cold start of the hello-world agent, {runs} alternating runs each")
        cold = cold_start(workdir, runs)
        print(f"  {'SDK':26s} {'median':>9s} {'min':>9s} {'CPU median':>11s}")
        for name, figures in cold.items():
            print(
                f"  {name:26s} {figures['median_ms']:7.1f}ms {figures['min_ms']:7.1f}ms"
                f" {figures['cpu_ms']:9.1f}ms"
            )
        ratios = {
            "wire 0.1 vs agentproc 0.4.2": cold["ours, wire 0.1"]["median_ms"]
            / cold["agentproc 0.4.2 (0.1)"]["median_ms"],
            "wire 0.4 vs agentproc 0.4.2": cold["ours, wire 0.4"]["median_ms"]
            / cold["agentproc 0.4.2 (0.1)"]["median_ms"],
            "wire 0.4 vs agentproc 0.20.0": cold["ours, wire 0.4"]["median_ms"]
            / cold["agentproc 0.20.0 (0.4)"]["median_ms"],
        }
        for name, ratio in ratios.items():
            print(f"  ratio of medians, {name}: {ratio:.2f}x (target {TARGET_RATIO}x vs 0.4.2)")

        rounds = 4
        per_round = max(1, turns // rounds)
        print(f"\nbridge overhead per wire-0.4 turn, {rounds} rounds of {per_round} turns each")
        overhead = bridge_overhead(workdir, per_round, rounds)
        for name, figures in overhead.items():
            print(
                f"  {name:26s} median {figures['median_ms']:6.1f}ms per turn,"
                f" overhead {figures['overhead_ms']:6.1f}ms ({figures['turns']} turns)"
            )
    result = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "quick": args.quick,
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "cold_start": {"runs": runs, "contenders": cold, "ratios": ratios},
        "bridge_overhead_per_turn": overhead,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output}")


if __name__ == "__main__":
    main()
