"""``agentproc run`` as a user runs it: a real process, its stdout, stderr and exit status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .support import agent, pid_running, python_agent, wire, write_profile

pytestmark = pytest.mark.slow


def agentproc(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    return subprocess.run(
        [sys.executable, "-m", "agentproc.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def profile(tmp_path: Path, **keys: Any) -> str:
    return str(write_profile(tmp_path, keys))


def test_partials_print_as_they_come_then_the_reply(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("wire.sh"))
    message = wire("AGENT_SESSION:s-1", 'AGENT_PARTIAL:"Hel"', 'AGENT_PARTIAL:"lo"', "the reply")
    done = agentproc("run", "-p", path, "--prompt", message)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello\nthe reply\n"
    assert "wire.sh wrote 4 lines" in done.stderr  # the agent's stderr is passed through
    assert "agentproc: session s-1 (continue with --session s-1)" in done.stderr


def test_the_message_is_read_from_stdin_without_its_trailing_newline(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("echo.sh"))
    done = agentproc("run", "-p", path, stdin="from a pipe\n")
    assert (done.returncode, done.stdout) == (0, "you said: from a pipe\n")


def test_session_name_from_and_session_reach_the_agent(tmp_path: Path) -> None:
    path = profile(tmp_path, **python_agent("report.py"))
    done = agentproc(
        "run", "-p", path, "--prompt", "hi", "--session", "s-4", "--session-name", "n",
        "--from", "u-2", "--env", "TEST_A=1=2", "--env", "TEST_B=",
    )  # fmt: skip
    env = json.loads(done.stdout)["env"]
    assert env["AGENT_SESSION_ID"] == "s-4"
    assert env["AGENT_SESSION_NAME"] == "n"
    assert env["AGENT_FROM_USER"] == "u-2"
    assert (env["TEST_A"], env["TEST_B"]) == ("1=2", "")
    assert "agentproc: session" not in done.stderr  # unchanged: nothing new to tell


def test_json_prints_the_whole_result(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("wire.sh"))
    message = wire("AGENT_SESSION:s-1", 'AGENT_PARTIAL:"p"', "body")
    done = agentproc("run", "-p", path, "--prompt", message, "--json")
    assert done.returncode == 0
    result = json.loads(done.stdout)
    assert result == {
        **result,
        "reply": "body",
        "session_id": "s-1",
        "error": None,
        "exit_code": 0,
        "partials": ["p"],
        "timed_out": False,
        "stderr_tail": "wire.sh wrote 3 lines\n",
        "warnings": [],
        "ok": True,
    }
    assert result["duration_secs"] > 0


def test_an_agent_error_goes_to_stderr_and_the_exit_status_is_1(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("wire.sh"))
    done = agentproc("run", "-p", path, "--prompt", wire('AGENT_ERROR:"no quota"', "body"))
    assert (done.returncode, done.stdout) == (1, "")
    assert "agentproc: error: no quota" in done.stderr


def test_the_exit_status_is_the_agents_own(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("wire.sh"), env={"WIRE_EXIT": "5"})
    done = agentproc("run", "-p", path, "--prompt", "x")
    assert done.returncode == 5
    assert "agentproc: error: the agent failed (exit status 5)" in done.stderr


def test_timeout_overrides_the_profile_and_exits_124(tmp_path: Path) -> None:
    path = profile(tmp_path, kill_grace_secs=1, **python_agent("sleeps.py"))
    done = agentproc("run", "-p", path, "--prompt", "x", "--timeout", "4")
    assert done.returncode == 124
    assert done.stdout == "working on it\n"
    assert "the agent did not finish within 4 s" in done.stderr


def test_no_stream_turns_streaming_off(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("wire.sh"))
    done = agentproc("run", "-p", path, "--prompt", wire('AGENT_PARTIAL:"p"', "b"), "--no-stream")
    assert (done.returncode, done.stdout) == (0, "b\n")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"command": "x", "timeout_secs": "soon"}, "timeout_secs must be a number of seconds"),
        ({"timeout_secs": 3}, "`command:` is missing"),
    ],
)
def test_a_bad_profile_exits_2_naming_the_file_and_key(
    tmp_path: Path, keys: dict[str, Any], expected: str
) -> None:
    path = profile(tmp_path, **keys)
    done = agentproc("run", "-p", path, "--prompt", "x")
    assert done.returncode == 2
    assert done.stderr.startswith(f"agentproc: {path}: ")
    assert expected in done.stderr


def test_a_missing_profile_and_bad_options_exit_2(tmp_path: Path) -> None:
    assert agentproc("run", "-p", str(tmp_path / "none.yaml"), "--prompt", "x").returncode == 2
    bad_env = agentproc("run", "-p", "x.yaml", "--env", "NOEQUALS")
    assert bad_env.returncode == 2
    assert "expected NAME=VALUE, got 'NOEQUALS'" in bad_env.stderr
    bad_timeout = agentproc("run", "-p", "x.yaml", "--timeout", "0")
    assert "must be greater than 0" in bad_timeout.stderr


def test_a_command_that_is_not_found_exits_127(tmp_path: Path) -> None:
    path = profile(tmp_path, command="no-such-agent-command")
    done = agentproc("run", "-p", path, "--prompt", "x")
    assert done.returncode == 127
    assert "no-such-agent-command: command not found" in done.stderr


def test_unknown_profile_keys_are_warned_about_on_stderr(tmp_path: Path) -> None:
    path = profile(tmp_path, command=agent("echo.sh"), timout_secs=3)
    done = agentproc("run", "-p", path, "--prompt", "x")
    assert done.returncode == 0
    assert "unknown key 'timout_secs' ignored; did you mean 'timeout_secs'?" in done.stderr


def test_help_describes_the_command() -> None:
    done = agentproc("run", "--help")
    assert done.returncode == 0
    for option in ("--profile", "--prompt", "--session", "--timeout", "--no-stream", "--json"):
        assert option in done.stdout


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_agentproc_run_ends_the_agents_group_too(
    tmp_path: Path, signum: int, code: int
) -> None:
    pid_file = tmp_path / "agent.pid"
    path = profile(
        tmp_path,
        command=agent("ignores_sigterm.sh"),
        kill_grace_secs=0.5,
        env={"PID_FILE": str(pid_file)},
    )
    cli = subprocess.Popen(
        [sys.executable, "-m", "agentproc.cli", "run", "-p", path, "--prompt", "x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "the agent never started"
            time.sleep(0.05)
        cli.send_signal(signum)
        stdout, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == code, stderr
    assert stdout in ("", "still thinking\n")  # the signal may come before the partial
    assert f"agentproc: stopped by {signal.Signals(signum).name}; the agent was ended" in stderr
    assert not pid_running(int(pid_file.read_text()))
