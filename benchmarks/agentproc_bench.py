"""agentproc benchmarks: cold start against the original SDK, and partials per second.

Run with the project's Python (the one that has this package installed)::

    python benchmarks/agentproc_bench.py            # 30 runs per agent, 100,000 partials
    python benchmarks/agentproc_bench.py --quick    # 5 runs, 10,000 partials (nox -s bench)
    python benchmarks/agentproc_bench.py --runs 60 --partials 20000

Results go to ``benchmarks/results/agentproc.json`` (``--output`` to change).

Cold start is the wall time of ``python agent.py`` from process start to exit, for the
seed's hello-world agent, run under this package and under the original ``agentproc==0.4.2``
(installed with pip into its own virtualenv, created on first use, by default
``$TMPDIR/venv-agentproc-orig``; never into the project's). Runs alternate between the two,
so that load from anything else on the machine falls on both alike; the table gives
medians, minimums and the median CPU time (user + system) of the child, which load
disturbs less than wall time.

Partials per second is measured inside an agent that sends N small chunks with
``await ctx.send_partial(...)``, with stdout on ``/dev/null`` and on a pipe that this script
drains; the original's figure is given next to it.

Both SDKs run on the same interpreter version with the same clean environment (no
``PYTHON*`` variables), after warm-up runs that leave compiled bytecode in place.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ORIGINAL = "agentproc==0.4.2"
OURS = "agentproc (ours)"
TARGET_RATIO = 1.3
RESULTS = Path(__file__).resolve().parent / "results"

HELLO_AGENT = """\
from agentproc import create_profile

async def handler(ctx):
    return "hello " + ctx.message

create_profile(handler)
"""

PARTIALS_AGENT = """\
import json, os, sys, time
from agentproc import create_profile

N = int(os.environ["BENCH_PARTIALS"])

async def handler(ctx):
    started = time.perf_counter()
    for i in range(N):
        await ctx.send_partial(f"tok{i} ")
    elapsed = time.perf_counter() - started
    sys.stderr.write(json.dumps({"rate": N / elapsed}) + "\\n")

create_profile(handler)
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AGENT_"))}
    env.update(AGENT_MESSAGE="world", AGENT_SESSION_ID="", AGENT_STREAMING="1")
    env.update(extra)
    return env


def original_python(venv: Path) -> Path:
    """The interpreter of a virtualenv holding the original SDK, created when missing."""
    python = venv / "bin" / "python"
    check = [
        str(python),
        "-c",
        "import agentproc, sys; sys.exit(not hasattr(agentproc, 'create_profile'))",
    ]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with {ORIGINAL} ...", file=sys.stderr)
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run([*pip, ORIGINAL]).returncode != 0:
        subprocess.run([*pip, "--ignore-requires-python", ORIGINAL], check=True)
    subprocess.run(check, check=True)
    return python


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, child CPU seconds and stdout of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, out


def cold_start(pythons: dict[str, Path], workdir: Path, runs: int) -> dict[str, dict[str, float]]:
    agent = workdir / "hello_agent.py"
    agent.write_text(HELLO_AGENT)
    env = clean_env()
    walls: dict[str, list[float]] = {name: [] for name in pythons}
    cpus: dict[str, list[float]] = {name: [] for name in pythons}
    for name, python in pythons.items():
        for _ in range(3):  # warm-up: bytecode caches written, files in the page cache
            _, _, out = run_once([str(python), agent.name], workdir, env)
        if out != b"hello world\n":
            raise SystemExit(f"{name}: unexpected output {out!r}")
    for _ in range(runs):
        for name, python in pythons.items():
            wall, cpu, _ = run_once([str(python), agent.name], workdir, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: {
            "median": statistics.median(walls[name]),
            "min": min(walls[name]),
            "cpu": statistics.median(cpus[name]),
        }
        for name in pythons
    }


def partial_rate(python: Path, workdir: Path, count: int, *, pipe: bool) -> float:
    agent = workdir / "partials_agent.py"
    agent.write_text(PARTIALS_AGENT)
    env = clean_env(BENCH_PARTIALS=str(count))
    if not pipe:
        with open(os.devnull, "wb") as devnull:
            done = subprocess.run(
                [str(python), agent.name],
                cwd=workdir,
                env=env,
                stdout=devnull,
                stderr=subprocess.PIPE,
                check=True,
            )
        return float(_rate(done.stderr))
    proc = subprocess.Popen(
        [str(python), agent.name],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines = 0
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    for line in proc.stdout:
        lines += line.startswith(b"AGENT_PARTIAL:")
    reader.join()
    if proc.wait() != 0 or lines != count:
        raise SystemExit(f"partials agent failed: exit {proc.returncode}, {lines} lines")
    return _rate(err[0])


def _rate(stderr: bytes) -> float:
    for line in reversed(stderr.decode().splitlines()):
        if line.startswith("{"):
            return float(json.loads(line)["rate"])
    raise SystemExit(f"no rate reported: {stderr.decode()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="cold-start runs per agent")
    parser.add_argument("--partials", type=int, default=100_000, help="chunks to send")
    parser.add_argument(
        "--quick", action="store_true", help="5 runs and 10,000 partials: proves the harness"
    )
    parser.add_argument(
        "--original-venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "venv-agentproc-orig",
        help="virtualenv for the original SDK (created when missing; never the dev venv)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "agentproc.json")
    args = parser.parse_args()
    runs, partials = (5, 10_000) if args.quick else (args.runs, args.partials)
    pythons = {OURS: Path(sys.executable), ORIGINAL: original_python(args.original_venv)}
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="agentproc-bench-") as tmp:
        workdir = Path(tmp)
        print(f"cold start of a hello-world agent, {runs} alternating runs each")
        cold = cold_start(pythons, workdir, runs)
        print(f"  {'SDK':22s} {'median':>9s} {'min':>9s} {'CPU median':>11s}")
        for name, figures in cold.items():
            print(
                f"  {name:22s} {figures['median'] * 1000:7.1f}ms {figures['min'] * 1000:7.1f}ms"
                f" {figures['cpu'] * 1000:9.1f}ms"
            )
        ours, theirs = cold[OURS], cold[ORIGINAL]
        ratios = {key: ours[key] / theirs[key] for key in ("median", "min", "cpu")}
        print(
            f"  ratio ours/original: median {ratios['median']:.2f}x, min {ratios['min']:.2f}x,"
            f" CPU {ratios['cpu']:.2f}x  (target: within {TARGET_RATIO}x)"
        )

        print(f"\npartials per second, {partials:,} chunks of ~8 characters")
        print(f"  {'SDK':22s} {'/dev/null':>12s} {'drained pipe':>13s}")
        rates: dict[str, dict[str, float]] = {}
        for name, python in pythons.items():
            rates[name] = {
                "devnull": partial_rate(python, workdir, partials, pipe=False),
                "pipe": partial_rate(python, workdir, partials, pipe=True),
            }
            print(f"  {name:22s} {rates[name]['devnull']:12,.0f} {rates[name]['pipe']:13,.0f}")

    result = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "quick": args.quick,
        # The machine may be shared: runs alternate, but a high load still widens the spread.
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "cold_start": {
            "runs_per_sdk": runs,
            "ours_ms": {key: value * 1000 for key, value in ours.items()},
            "original_ms": {key: value * 1000 for key, value in theirs.items()},
            "original": ORIGINAL,
            "ratio": ratios,
            "target_ratio": TARGET_RATIO,
            "within_target": ratios["median"] <= TARGET_RATIO,
        },
        "partials_per_s": {
            "chunks": partials,
            "ours": rates[OURS],
            "original": rates[ORIGINAL],
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output}")


if __name__ == "__main__":
    main()
