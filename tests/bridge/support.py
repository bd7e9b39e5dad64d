"""Helpers for the bridge tests: profiles written as YAML files, turns run with what they sent."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from agentproc.bridge import Approver, Profile, RunResult, TurnInput, load_profile, run_turn

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PYTHON = sys.executable
"""The interpreter running the tests; it has this package installed."""


def agent(name: str) -> str:
    """The path of a fixture agent script."""
    return str(FIXTURES / name)


def python_agent(name: str, *args: str) -> dict[str, Any]:
    """Profile keys that run a fixture Python script with the test's interpreter."""
    return {"command": PYTHON, "args": [agent(name), *args]}


def write_profile(folder: Path, keys: Mapping[str, Any], name: str = "profile.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(dict(keys), allow_unicode=True))
    return path


def make_profile(folder: Path, warnings: list[str] | None = None, **keys: Any) -> Profile:
    """The profile of ``keys``, written to ``folder/profile.yaml`` and loaded from there."""
    sink = warnings if warnings is not None else []
    return load_profile(write_profile(folder, keys), warn=sink.append)


@attrs.frozen
class Turn:
    """A finished turn: the result, and what reached the callbacks while it ran."""

    result: RunResult
    delivered: list[str]
    warnings: list[str]
    stderr_lines: list[str]


async def run(
    profile: Profile,
    message: str = "",
    *,
    environ: Mapping[str, str] | None = None,
    on_permission: Approver | None = None,
    **turn: Any,
) -> Turn:
    """One turn of ``profile``; partials, warnings and stderr lines are collected."""
    delivered: list[str] = []
    warnings: list[str] = []
    stderr: list[str] = []
    result = await run_turn(
        profile,
        TurnInput(message=message, **turn),
        on_partial=delivered.append,
        on_stderr=stderr.append,
        warn=warnings.append,
        environ=environ,
        on_permission=on_permission,
    )
    return Turn(result, delivered, warnings, stderr)


def events_agent(**keys: Any) -> dict[str, Any]:
    """Profile keys of a wire-0.4 agent whose message chooses its stdout (``events.py``)."""
    return {"wire": "0.4", **python_agent("events.py"), **keys}


def wire(*lines: str) -> str:
    """A message for ``wire.sh``: it writes the message back, so these become its stdout."""
    return "\n".join(lines)


def pid_running(pid: int) -> bool:
    """True while ``pid`` is a process that has not exited (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in (b"Z", b"X")


def read_pid(path: Path) -> int:
    return int(path.read_text().strip())


def open_fds() -> set[str]:
    """The file descriptors this process has open."""
    return set(os.listdir("/proc/self/fd"))


def child_pids() -> set[int]:
    """Processes whose parent is this process, zombies included (a scan of /proc)."""
    me = os.getpid()
    children: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except FileNotFoundError:
            continue
        if int(fields[1]) == me:
            children.add(int(entry))
    return children


def env_without_protocol() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
