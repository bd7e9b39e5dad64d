"""Developer sessions: ``tests``, ``lint``, ``typecheck``, ``docs``, ``bench``, ``demo``.

Run with ``nox -s NAME`` when nox is installed, or on a fresh machine that has only
Python 3.11 and pip with ``python3 noxfile.py [-s NAME]``: the file then installs nox
into ``.nox/_bootstrap`` and runs itself there. With no ``-s`` the default sessions run
(lint, typecheck, the tests on the oldest and newest supported Pythons found), which is
what CI does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _bootstrap() -> None:
    """Re-run this file under a private virtualenv that has nox installed."""
    venv = HERE / ".nox" / "_bootstrap"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "nox"],
            check=True,
        )
    argv = [str(python), "-m", "nox", "-f", str(HERE / "noxfile.py"), *sys.argv[1:]]
    os.execv(str(python), argv)  # noqa: S606 - replaces this process, no shell involved


try:
    import nox
except ModuleNotFoundError:
    if __name__ != "__main__":
        raise
    _bootstrap()
    raise SystemExit(1) from None  # not reached: execv replaces this process

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


def _runnable(command: str) -> bool:
    # A pyenv shim is on PATH for every version pyenv has, but fails for those not selected.
    return subprocess.run([command, "-c", "pass"], capture_output=True).returncode == 0


def _found_pythons() -> list[str]:
    """The supported versions this machine has; pyenv's installs are put on PATH for nox."""
    found: list[str] = []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in SUPPORTED_PYTHONS:
        command = f"python{version}"
        if shutil.which(command) and _runnable(command):
            found.append(version)
            continue
        for home in sorted(pyenv.glob(f"{version}.*"), reverse=True):
            if (home / "bin" / command).exists():
                os.environ["PATH"] = f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}"
                found.append(version)
                break
    return found or [f"{sys.version_info.major}.{sys.version_info.minor}"]


PYTHONS = _found_pythons()

# What CI runs: the whole suite on the oldest Python found, and on the newest all but the
# slow end-to-end tests (they start subprocesses and run for minutes; what they exercise
# does not change between versions). `nox -s tests` runs the whole suite on every one.
nox.options.sessions = [
    "lint",
    "typecheck",
    f"tests-{PYTHONS[0]}",
    *([f"fast_tests-{PYTHONS[-1]}"] if len(PYTHONS) > 1 else []),
]
nox.options.default_venv_backend = "venv"

PIP_QUIET = ["--quiet", "--disable-pip-version-check"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite, against the embedded server over loopback."""
    session.install(*PIP_QUIET, "-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS)
def fast_tests(session: nox.Session) -> None:
    """The test suite without the tests marked slow."""
    session.install(*PIP_QUIET, "-e", ".[test]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install(*PIP_QUIET, "ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src, tests and benchmarks (stubs in typings/)."""
    session.install(*PIP_QUIET, "-e", ".[test]", "mypy>=1.10", "types-PyYAML", "nox>=2024.4")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site into ``site/``: ``mkdocs build --strict`` (a warning fails it).

    ``-- serve`` (or any other mkdocs command) runs that instead, e.g. ``nox -s docs -- serve``.
    """
    session.install(*PIP_QUIET, "-e", ".[docs]")
    session.run("mkdocs", *(session.posargs or ["build", "--strict"]))


BENCHMARKS = [
    "benchmarks/server_capacity.py",
    "benchmarks/agentproc_bench.py",
    "benchmarks/bridge_turns.py",
    "benchmarks/history_overhead.py",
    "benchmarks/runtime_throughput.py",
]


# This project beside its peers (the main figures); its arguments are bench_peers.py's.
PEER_BENCHMARK = "benchmarks/bench_peers.py"
QUICK_RESULTS = "benchmarks/results/quick"


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    """This project beside its peers, then ``BENCHMARKS``; ``-- --quick`` for a short run.

    Arguments go to the peer comparison. A full run then runs every script of
    ``BENCHMARKS`` and writes to ``benchmarks/results``; ``--quick`` (about three minutes)
    runs the peer comparison only and writes to ``benchmarks/results/quick`` (ignored by
    git), so a quick run never replaces the figures of a full one. The peers install
    once into ``.nox/peers``; matplotlib draws the chart (bench only).
    """
    session.install(*PIP_QUIET, "-e", ".", "matplotlib>=3.8")
    quick = "--quick" in session.posargs
    where = [] if not quick or "--results" in session.posargs else ["--results", QUICK_RESULTS]
    session.run("python", PEER_BENCHMARK, *session.posargs, *where)
    if not quick:
        for script in BENCHMARKS:
            session.run("python", script)


@nox.session
def demo(session: nox.Session) -> None:
    """Start the embedded server and a worker, submit tasks, print their outputs."""
    session.install(*PIP_QUIET, "-e", ".")
    session.run("python", "examples/demo.py", *session.posargs)


if __name__ == "__main__":
    nox.main()  # exits with the sessions' status
