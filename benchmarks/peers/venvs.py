"""The peers' own virtualenvs under ``.nox/peers/<name>``: created once, then reused.

A peer never shares an environment with this project (user-agent-sdk 0.2.0 even has the
same import name, ``user_agent_sdk``). A venv is reused while its ``bench-peer.json``
records the same requirements and interpreter; otherwise it is rebuilt.

user-agent-sdk 0.2.0's wheel declares Python >= 3.12. A Python 3.12 or newer is used when
one is found (on PATH or under pyenv); else the running interpreter with
``--ignore-requires-python`` and ``deprecated<3`` (Deprecated 3.x, which it pulls in, is
written in 3.12 syntax; the SDK's own code runs on 3.11).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / ".nox" / "peers"
_MARKER = "bench-peer.json"


@attrs.frozen
class PeerEnv:
    """An installed peer: its interpreter and what was installed."""

    name: str
    path: Path
    python_version: str
    version: str
    """The installed version of the peer's distribution."""

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, command: str) -> Path:
        return self.path / "bin" / command


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    return int(out[0]), int(out[1])


def find_python(minimum: tuple[int, int]) -> str | None:
    """An interpreter at least ``minimum`` that runs, or None."""
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(minimum[1], 16)]
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        candidates += [str(path) for path in sorted(pyenv.glob("3.*/bin/python3"), reverse=True)]
    for candidate in candidates:
        if candidate:
            found = _version_of(candidate)
            if found is not None and found >= minimum:
                return candidate
    return None


def ensure_peer(
    name: str,
    distribution: str,
    requirements: Sequence[str],
    *,
    python: str = sys.executable,
    pip_args: Sequence[str] = (),
) -> PeerEnv:
    """The venv ``.nox/peers/NAME`` with ``requirements`` installed by ``python``'s venv."""
    path = PEERS / name
    wanted = {"requirements": list(requirements), "python": python, "pip_args": list(pip_args)}
    marker = path / _MARKER
    if not (marker.exists() and json.loads(marker.read_text()).get("wanted") == wanted):
        if path.exists():
            shutil.rmtree(path)
        subprocess.run([python, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [
                str(path / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *pip_args,
                *requirements,
            ],
            check=True,
        )
        marker.write_text(json.dumps({"wanted": wanted}, indent=2) + "\n")
    python_version = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    version = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({distribution!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return PeerEnv(name, path, python_version, version)


def user_agent_sdk_env() -> PeerEnv:
    """The reference akaBot SDK, ``user-agent-sdk==0.2.0``."""
    python = find_python((3, 12))
    if python is not None:
        return ensure_peer(
            "user-agent-sdk", "user-agent-sdk", ["user-agent-sdk==0.2.0"], python=python
        )
    return ensure_peer(
        "user-agent-sdk",
        "user-agent-sdk",
        ["user-agent-sdk==0.2.0", "deprecated<3"],
        pip_args=["--ignore-requires-python"],
    )


def conductor_python_env() -> PeerEnv:
    """The official Conductor client, ``conductor-python`` 2.x."""
    return ensure_peer("conductor-python", "conductor-python", ["conductor-python>=2,<3"])
