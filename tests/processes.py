"""Real processes for end-to-end tests: the server and the CLI, as a user runs them."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import attrs

URL = re.compile(r"listening on (http://\S+)")


def useragent_command(*args: str) -> list[str]:
    """Argv that runs the ``useragent`` CLI of the package under test."""
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


class LineReader:
    """Reads a process's stdout on a thread, so a test can wait for a line with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._args = process.args
        self._lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout
        threading.Thread(target=self._pump, args=(stdout,), daemon=True).start()

    def _pump(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line)

    def next(self, timeout: float) -> str:
        """The next line, or AssertionError after ``timeout`` seconds."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from {self._args!r} within {timeout} s") from None


_readers: dict[int, LineReader] = {}


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """One line of the process's stdout, or AssertionError after ``timeout`` seconds."""
    if process.pid not in _readers:
        _readers[process.pid] = LineReader(process)
    return _readers[process.pid].next(timeout)


@attrs.frozen
class ServerProcess:
    process: subprocess.Popen[str]
    base_url: str

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"


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
    _readers.pop(process.pid, None)
    if process.stderr is not None:
        process.stderr.close()


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
