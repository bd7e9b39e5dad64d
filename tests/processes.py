"""Real processes for end-to-end tests: the server and the CLI, as a user runs them."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

URL = re.compile(r"listening on (http://\S+)")


def useragent_command(*args: str) -> list[str]:
    """Argv that runs the ``useragent`` CLI of the package under test."""
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


@attrs.frozen
class ServerProcess:
    process: subprocess.Popen[str]
    base_url: str

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """One line of the process's stdout, or AssertionError after ``timeout`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output from {process.args!r} within {timeout} s")
    return process.stdout.readline()


@contextmanager
def server_process(*args: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """``useragent server --port 0 ARGS``; stopped (and reaped) on exit."""
    process = subprocess.Popen(
        useragent_command("server", "--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        line = read_line(process, timeout=20)
        match = URL.search(line)
        assert match, f"unexpected first line from the server: {line!r}"
        yield ServerProcess(process, match.group(1))
    finally:
        stop(process)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Signal the process and reap it (SIGKILL after 10 s)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def run_cli(
    args: Sequence[str],
    *,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``useragent ARGS`` to completion and capture its output."""
    return subprocess.run(
        useragent_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def wait_until(predicate: object, timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
