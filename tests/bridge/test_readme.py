"""The README's ``agentproc run`` section works as written, with the README's own agent."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentproc.bridge import RunResult
from tests.agentproc.agents import python3_on_path

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def blocks(heading: str) -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.index("\n## ", start + 1)
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], re.S)


def bridge_blocks() -> list[tuple[str, str]]:
    return blocks("## Running an agent from a profile: `agentproc run`")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the README's profile and the agent of its "Writing an agent" section."""
    agent = blocks("## Writing an agent: `agentproc`")[0][1]
    (tmp_path / "agent.py").write_text(agent)
    (tmp_path / "profile.yaml").write_text(bridge_blocks()[0][1])
    return tmp_path


def env_for(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    env["PATH"] = python3_on_path(folder)  # the README's `python3` is the one with agentproc
    env["API_KEY"] = "k-1"
    return env


def test_the_section_has_a_profile_commands_and_a_python_example() -> None:
    assert [language for language, _ in bridge_blocks()] == ["yaml", "bash", "python"]
    profile = yaml.safe_load(bridge_blocks()[0][1])
    assert profile == {
        "command": "python3 ./agent.py",
        "cwd": ".",
        "timeout_secs": 60,
        "env": {"MODEL": "small", "API_KEY": "${API_KEY}"},
    }


def test_each_command_runs_the_agent(project: Path) -> None:
    commands = [
        line.split("#")[0].strip() for line in bridge_blocks()[1][1].splitlines() if line.strip()
    ]
    outputs = []
    for command in commands:
        argv = shlex.split(command.replace("agentproc ", f"{sys.executable} -m agentproc.cli ", 1))
        stdin = None
        if argv[0] == "echo":  # echo "hello" | agentproc ...
            stdin, argv = "hello\n", argv[argv.index("|") + 1 :]
        done = subprocess.run(
            argv,
            input=stdin,
            cwd=project,
            env=env_for(project),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == "thinking... \nyou said: hello\n"
    assert json.loads(outputs[1])["session_id"] == "conv-1"
    assert outputs[2] == "thinking... \nyou said: more\n"


async def test_the_python_example_runs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", env_for(project)["PATH"])
    source = bridge_blocks()[2][1]
    code = compile(source, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {"print": lambda *_: None}
    await eval(code, namespace)  # the README's own example
    result = namespace["result"]
    assert isinstance(result, RunResult)
    assert (result.reply, result.session_id, result.partials) == (
        "you said: hi",
        "conv-1",
        ("thinking... ",),
    )
