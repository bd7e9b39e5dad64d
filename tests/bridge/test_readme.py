"""The guide docs/guides/bridge.md (its ``agentproc run`` section) works as written, with
the agent of docs/guides/agentproc.md."""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentproc.bridge import RunResult
from tests.agentproc.agents import python3_on_path
from tests.docs.pages import DOCS, blocks

PAGE = DOCS / "guides/bridge.md"
AGENT_PAGE = DOCS / "guides/agentproc.md"

pytestmark = pytest.mark.slow


def bridge_blocks() -> list[tuple[str, str]]:
    return blocks(PAGE, "## Profiles and `agentproc run`")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the guide's profile and the agent of the agentproc guide."""
    agent = blocks(AGENT_PAGE)[0][1]
    (tmp_path / "agent.py").write_text(agent)
    (tmp_path / "profile.yaml").write_text(bridge_blocks()[0][1])
    return tmp_path


def env_for(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    env["PATH"] = python3_on_path(folder)  # the guide's `python3` is the one with agentproc
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
    code = compile(source, str(PAGE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {"print": lambda *_: None}
    await eval(code, namespace)  # the guide's own example
    result = namespace["result"]
    assert isinstance(result, RunResult)
    assert (result.reply, result.session_id, result.partials) == (
        "you said: hi",
        "conv-1",
        ("thinking... ",),
    )
