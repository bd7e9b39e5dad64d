"""The quick start of quickstart.md, and of README.md (the same blocks), works as written:
its agent, served by `useragent run` against `useragent server`, answers `useragent submit
--wait` with the output shown."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .pages import DOCS, README, blocks

PAGE = DOCS / "quickstart.md"

pytestmark = pytest.mark.slow  # starts the server, a worker and submit as processes
TIMEOUT = 60


def quick_start() -> list[tuple[str, str]]:
    return blocks(PAGE, "## Five minutes: an agent, a server, a task")


def useragent(words: list[str]) -> list[str]:
    assert words[0] == "useragent"
    return [sys.executable, "-m", "user_agent_sdk.cli", *words[1:]]


def test_the_quick_start_has_an_agent_commands_and_the_output() -> None:
    assert [language for language, _ in quick_start()] == ["python", "bash", "text"]


def test_the_readme_shows_the_same_quick_start() -> None:
    assert blocks(README, "## Quick start: an agent, a server, a task") == quick_start()


@pytest.fixture
def env() -> dict[str, str]:
    drop = ("CONDUCTOR_", "USERAGENT_")
    return {key: value for key, value in os.environ.items() if not key.startswith(drop)}


def test_the_agent_serves_the_submitted_task(tmp_path: Path, env: dict[str, str]) -> None:
    (agent, _), (commands, _), (output, _) = ((code, lang) for lang, code in quick_start())
    (tmp_path / "agent.py").write_text(agent)
    lines = [shlex.split(line, comments=True) for line in commands.splitlines()]
    start_server, export, run, submit = lines
    assert export == ["export", "CONDUCTOR_SERVER_URL=http://127.0.0.1:8080/api"]

    # The documented server, on a free port instead of 8080.
    server = subprocess.Popen(
        useragent([*start_server, "--port", "0"]),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = None
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("useragent server listening on http://127.0.0.1:"), banner
        env["CONDUCTOR_SERVER_URL"] = banner.split()[-1] + "/api"
        worker = subprocess.Popen(useragent(run), cwd=tmp_path, env=env)
        done = subprocess.run(
            useragent(submit),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert (done.returncode, done.stdout) == (0, output), done.stderr
        refused = subprocess.run(
            useragent([*submit[:4], "{}", "--wait"]),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert refused.returncode == 1
        assert refused.stderr.strip().endswith("FAILED: no name given")
        worker.send_signal(signal.SIGINT)  # Ctrl-C: drains, then exits 0
        assert worker.wait(TIMEOUT) == 0
    finally:
        for process in (worker, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
