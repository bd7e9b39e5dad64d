"""``useragent dev``: an edit to the agent's file while tasks run; the new code serves the
next tasks, and every task completes."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import trio

from user_agent_sdk.conductor import WorkflowStatus
from user_agent_sdk.server import RunningServer

from ..runtime.support import (
    all_finished,
    clean_env,
    run_cli,
    submit_many,
    worker_process,
)

pytestmark = pytest.mark.slow

AGENT = """
import time

from user_agent_sdk import user_agent

VERSION = {version!r}


@user_agent(agent_id="dev-agent")
def agent(input_data):
    time.sleep(0.05)
    return {{"n": input_data["n"], "version": VERSION}}
"""


def write_agent(path: Path, version: str) -> None:
    path.write_text(textwrap.dedent(AGENT.format(version=version)))


SERVING = "agent: serving agent id 'dev-agent'"


async def test_an_edit_while_tasks_run_restarts_on_the_new_code_and_loses_nothing(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    write_agent(agent, "one")
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["dev", str(agent), "-w", "4", "-r"], cwd=tmp_path, env=env) as dev:
        await dev.wait_for(SERVING)
        before = await submit_many(api, "dev-agent", [{"n": n} for n in range(60)])
        await trio.sleep(0.3)  # some done, some running, most queued
        write_agent(agent, "two, edited")
        await dev.wait_for("dev: agent.py changed; restarting once running tasks finish")
        await dev.wait_for(rf"{SERVING}(?s:.*){SERVING}")  # the second child serves
        after = await submit_many(api, "dev-agent", [{"n": n} for n in range(60, 80)])
        done = await all_finished(api, before + after, timeout=120)
        dev.signal(signal.SIGINT)  # Ctrl-C: reaches the child once, through dev
        assert await dev.wait() == 0, dev.output
    assert {workflow.status for workflow in done} == {WorkflowStatus.COMPLETED}
    outputs = [workflow.output for workflow in done]
    assert [output["n"] for output in outputs] == list(range(80))
    versions = [output["version"] for output in outputs]
    assert "one" in versions[:60]  # the first code served until the edit
    assert set(versions[60:]) == {"two, edited"}  # the next tasks: the new code
    assert "SIGINT: finishing running tasks" in dev.output
    assert "SIGINT again" not in dev.output
    # Every attempt that ran, under either code, is in the history, once.
    code, output = await run_cli(["history", "--stats", "--json"], cwd=tmp_path)
    assert code == 0, output
    assert '"executions": 80' in output


async def test_a_broken_edit_waits_for_the_fix(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    write_agent(agent, "one")
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["dev", str(agent)], cwd=tmp_path, env=env) as dev:
        await dev.wait_for(SERVING)
        agent.write_text("def broken(:\n")
        await dev.wait_for("SyntaxError")
        await dev.wait_for("dev: useragent run exited with code 1; restarting when agent.py")
        ids = await submit_many(api, "dev-agent", [{"n": 1}])
        write_agent(agent, "fixed")
        (done,) = await all_finished(api, ids, timeout=60)
        dev.signal(signal.SIGTERM)
        assert await dev.wait() == 0, dev.output
    assert done.output == {"n": 1, "version": "fixed"}


async def test_a_file_beside_the_agent_counts_and_its_history_does_not(
    server: RunningServer, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    write_agent(agent, "one")
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["dev", str(agent), "-r"], cwd=tmp_path, env=env) as dev:
        await dev.wait_for(SERVING)
        (tmp_path / "execution_history.db-journal").write_text("x")
        (tmp_path / "notes.log").write_text("the agent's own output")
        await trio.sleep(1.5)
        assert "changed" not in dev.output
        (tmp_path / "helpers.py").write_text("X = 1\n")
        await dev.wait_for("dev: helpers.py changed")
        dev.signal(signal.SIGTERM)
        assert await dev.wait() == 0, dev.output


async def test_dev_checks_its_options_as_run_does(tmp_path: Path) -> None:
    env = clean_env(CONDUCTOR_SERVER_URL="http://127.0.0.1:9/api", USERAGENT_AGENT_ID="a")
    code, output = await run_cli(["dev", "missing.py"], cwd=tmp_path, env=env)
    assert (code, output) == (2, "useragent dev: missing.py: no such file\n")
    code, output = await run_cli(["dev", "x.py", "-w", "0"], cwd=tmp_path, env=env)
    assert (code, output) == (2, "useragent dev: --workers must be at least 1, got 0\n")


PROFILE_AGENT = """
VERSION = {version!r}
print("turn served by " + VERSION)
"""


async def test_dev_with_a_profile_restarts_when_the_profiles_agent_changes(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    script = tmp_path / "reply.py"
    script.write_text(PROFILE_AGENT.format(version="one"))
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"command: {sys.executable}\nargs: [reply.py]\ntimeout_secs: 30\n")
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url, USERAGENT_AGENT_ID="dev-chat")
    args = ["dev", "--profile", str(profile), "-w", "2"]
    async with worker_process(args, cwd=tmp_path, env=env) as dev:
        await dev.wait_for("serving agent id 'dev-chat'")
        (first,) = await all_finished(
            api, await submit_many(api, "dev-chat", [{"message": "hi"}]), timeout=60
        )
        script.write_text(PROFILE_AGENT.format(version="two"))
        await dev.wait_for("dev: reply.py changed")
        await dev.wait_for(r"serving agent id 'dev-chat'(?s:.*)serving agent id 'dev-chat'")
        (second,) = await all_finished(
            api, await submit_many(api, "dev-chat", [{"message": "hi"}]), timeout=60
        )
        dev.signal(signal.SIGTERM)
        assert await dev.wait() == 0, dev.output
    assert first.output["response"] == "turn served by one"
    assert second.output["response"] == "turn served by two"
