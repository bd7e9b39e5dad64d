"""The guide docs/guides/agentproc.md runs as written: agent, local test, test helper."""

from __future__ import annotations

import subprocess
from pathlib import Path

import trio

from tests.agentproc.agents import TIMEOUT, agent_env, python3_on_path, run_agent, write_agent
from tests.docs.pages import DOCS, blocks

PAGE = DOCS / "guides/agentproc.md"


def section_blocks() -> list[tuple[str, str]]:
    return blocks(PAGE)


def test_the_section_has_an_agent_a_shell_command_and_a_test() -> None:
    assert [language for language, _ in section_blocks()] == ["python", "bash", "python"]


def test_the_agent_streams_declares_its_session_and_replies(tmp_path: Path) -> None:
    agent = write_agent(tmp_path, section_blocks()[0][1])
    run = run_agent(agent, {"AGENT_MESSAGE": "hi"})
    assert (run.status, run.lines) == (
        0,
        ['AGENT_PARTIAL:"thinking... "', "AGENT_SESSION:conv-1", "you said: hi"],
    )
    empty = run_agent(agent, {"AGENT_MESSAGE": ""})
    assert (empty.status, empty.lines) == (1, ['AGENT_ERROR:"send me some text"'])


def test_the_local_testing_command_runs_the_agent(tmp_path: Path) -> None:
    blocks = section_blocks()
    write_agent(tmp_path, blocks[0][1])
    done = subprocess.run(
        ["bash", "-c", blocks[1][1]],
        cwd=tmp_path,
        env=agent_env(tmp_path, {"PATH": python3_on_path(tmp_path)}),
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stdout) == (
        0,
        b'AGENT_PARTIAL:"thinking... "\nAGENT_SESSION:conv-1\nyou said: hello\n',
    )


async def test_the_in_process_test_passes() -> None:
    blocks = section_blocks()
    agent_source = blocks[0][1].replace("create_profile(handler)", "")
    namespace: dict[str, object] = {}
    exec(compile(agent_source + blocks[2][1], str(PAGE), "exec"), namespace)
    test = namespace["test_handler"]
    assert callable(test)
    with trio.fail_after(TIMEOUT):
        await test()
