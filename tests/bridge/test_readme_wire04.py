"""The "Wire 0.4 beside 0.1" section of docs/guides/bridge.md works as written: its agent,
profile and commands, run as a user would."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agentproc.agents import python3_on_path
from tests.docs.pages import DOCS
from tests.docs.pages import blocks as page_blocks

PAGE = DOCS / "guides/bridge.md"


def blocks() -> list[tuple[str, str]]:
    return page_blocks(PAGE, "## Wire 0.4 beside 0.1")


@pytest.fixture
def lister(tmp_path: Path) -> Path:
    """The guide's agent and hub profile in ``lister/``, as the commands expect."""
    agent, profile = blocks()[0][1], blocks()[1][1]
    folder = tmp_path / "lister"
    folder.mkdir()
    (folder / "agent.py").write_text(agent)
    (folder / "profile.yaml").write_text(profile)
    return tmp_path


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    env["PATH"] = python3_on_path(cwd)  # the guide's python3 is the one with agentproc
    argv = shlex.split(command.split("#")[0])
    if argv[0] == "agentproc":
        argv = [sys.executable, "-m", "agentproc.cli", *argv[1:]]
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_section_has_an_agent_a_profile_and_commands() -> None:
    assert [language for language, _ in blocks()] == ["python", "yaml", "bash"]


def test_agentproc_run_with_allow_runs_the_hub_profile_in_04(lister: Path) -> None:
    run_line = blocks()[2][1].splitlines()[0]
    done = shell(run_line + " --json", lister)
    result = json.loads(done.stdout)
    assert (result["wire"], result["partials"], result["session_id"]) == (
        "0.4",
        ["reading the folder", "ls (allowed)"],
        "conv 1",
    )
    assert (result["thinking"], result["usage"]) == (["reading the folder"], {"output_tokens": 3})


def test_without_allow_and_without_a_terminal_the_request_is_denied(lister: Path) -> None:
    done = shell("agentproc run -p lister/profile.yaml --prompt hi --json", lister)
    assert json.loads(done.stdout)["partials"][1].startswith("ls (denied: no terminal to ask")


def test_the_agent_answers_a_turn_line_without_a_bridge(lister: Path) -> None:
    command = blocks()[2][1].splitlines()[1].split("|")[1]
    line = '{"type":"turn","message":"hi"}\n'
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    done = subprocess.run(
        [sys.executable, *shlex.split(command.split("#")[0])[1:]],
        input=line,
        cwd=lister / "lister",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [json.loads(event) for event in done.stdout.splitlines()] == [
        {"type": "partial", "text": "reading the folder", "role": "thinking"},
        {"type": "partial", "text": "ls (not asked)"},
        {"type": "result", "text": "", "session_id": "conv 1", "usage": {"output_tokens": 3}},
    ]
