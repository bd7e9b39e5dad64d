"""Agents as a bridge runs them: a script in a folder, started as a real process."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import attrs

# Generous: the machine is shared, and a cold trio start is a few hundred milliseconds.
TIMEOUT = 60.0


@attrs.frozen
class AgentRun:
    """What one agent process left behind."""

    status: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[str]:
        """stdout as a bridge splits it: at ``\\n`` only, the final newline ending a line."""
        text = self.stdout.decode("utf-8")
        lines = text.split("\n")
        return lines[:-1] if lines[-1] == "" else lines


def agent_env(home: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any AGENT_* or AGENTPROC_* value of its own,
    with HOME moved to ``home`` so that nothing reaches the real ``~/.agentproc``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "AGENTPROC_"))}
    base["HOME"] = str(home)
    base.update(env or {})
    return base


def write_agent(folder: Path, source: str, name: str = "agent.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(source)
    return script


def run_agent(script: Path, env: Mapping[str, str] | None = None) -> AgentRun:
    """``python agent.py`` in the script's folder, with ``env`` added to a clean environment."""
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=script.parent,
        env=agent_env(script.parent, env),
        capture_output=True,
        timeout=TIMEOUT,
    )
    return AgentRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def start_agent(script: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python agent.py`` started with unbuffered pipes, for :func:`read_line`."""
    return subprocess.Popen(
        [sys.executable, script.name],
        cwd=script.parent,
        env=agent_env(script.parent, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # no read-ahead buffer that select() cannot see
    )


def read_line(process: subprocess.Popen[bytes], timeout: float = TIMEOUT) -> str:
    """One stdout line of ``process`` (without its newline); AssertionError on timeout.

    Reads a byte at a time, so that nothing after the line is taken from the pipe: the
    rest stays there for later reads or ``communicate()``.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"no output from {process.args!r} within {timeout} s")
            byte = os.read(fd, 1)
            if not byte:
                raise AssertionError(f"{process.args!r} closed stdout after {bytes(line)!r}")
            line += byte
    return line[:-1].decode("utf-8")


def python3_on_path(folder: Path) -> str:
    """A PATH whose ``python3`` is the interpreter running the tests (it has our package),
    as a user's shell would find the Python their agent is installed in."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "python3"
    # A wrapper, not a symlink: a venv's python finds its site-packages from its own path.
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
