"""``useragent run --profile``: a Conductor worker whose tasks are agent turns, end to end.

The server is the embedded one; the worker and ``useragent submit`` are real processes, as a
user runs them. What reached the server is read back through its API.
"""

from __future__ import annotations

import json
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.runtime.support import (
    WorkerProcess,
    all_finished,
    clean_env,
    run_cli,
    submit,
    worker_process,
)
from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from .support import write_profile

pytestmark = pytest.mark.slow

AGENT = """
import json

import trio

from agentproc import AgentResult, ProtocolError, create_profile


async def handler(ctx):
    if ctx.message == "fail":
        raise ProtocolError("the model is overloaded")
    if ctx.message == "hang":
        await trio.sleep_forever()
    await ctx.send_partial("thinking... ")
    seen = json.dumps([ctx.message, ctx.session_id, ctx.session_name, ctx.from_user])
    return AgentResult(response=seen, session_id="s-" + str(len(ctx.session_id)))


create_profile(handler)
"""


@asynccontextmanager
async def profile_worker(
    server: RunningServer, tmp_path: Path, timeout_secs: float = 30
) -> AsyncIterator[WorkerProcess]:
    (tmp_path / "agent.py").write_text(textwrap.dedent(AGENT))
    profile = write_profile(
        tmp_path,
        {"command": sys.executable, "args": ["agent.py"], "cwd": ".",
         "timeout_secs": timeout_secs, "kill_grace_secs": 1},
    )  # fmt: skip
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url, USERAGENT_AGENT_ID="chat")
    args = ["run", "--profile", str(profile), "-w", "4"]
    async with worker_process(args, cwd=tmp_path, env=env) as worker:
        await worker.wait_for(r"serving agent id 'chat' with 4 workers")
        yield worker
        worker.signal(signal.SIGTERM)
        assert await worker.wait() == 0


async def test_each_task_is_one_turn_and_its_output_carries_the_session_on(
    server: RunningServer, tmp_path: Path
) -> None:
    async with profile_worker(server, tmp_path):
        first = {"message": "hello", "from_user": "u-1"}
        code, output = await run_cli(
            ["submit", "chat", "--server", server.base_url, "--input", json.dumps(first), "--wait"],
            cwd=tmp_path,
        )
        assert code == 0, output
        reply = json.loads(output.strip().splitlines()[-1])
        assert reply == {
            "response": '["hello", "", "default", "u-1"]',
            "session_id": "s-0",
            "partials": ["thinking... "],
        }
        second = {"message": "again", "session_id": reply["session_id"], "session_name": "work"}
        code, output = await run_cli(
            ["submit", "chat", "--server", server.base_url, "--input", json.dumps(second),
             "--wait"],
            cwd=tmp_path,
        )  # fmt: skip
        assert code == 0, output
        assert json.loads(output.strip().splitlines()[-1])["response"] == (
            '["again", "s-0", "work", ""]'
        )


async def test_an_agent_error_fails_the_task_with_its_message_and_is_retried(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with profile_worker(server, tmp_path):
        workflow_id = await submit(api, "chat", {"message": "fail"}, retryCount=1)
        [done] = await all_finished(api, [workflow_id])
    assert done.status is WorkflowStatus.FAILED
    assert [task.status for task in done.tasks] == [TaskStatus.FAILED, TaskStatus.FAILED]
    for task in done.tasks:
        assert "the model is overloaded" in (task.reason_for_incompletion or "")


async def test_a_timeout_fails_the_task_retryably(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with profile_worker(server, tmp_path, timeout_secs=2):
        workflow_id = await submit(api, "chat", {"message": "hang"}, retryCount=1)
        [done] = await all_finished(api, [workflow_id])
    assert [task.status for task in done.tasks] == [TaskStatus.FAILED, TaskStatus.FAILED]
    assert "did not finish within 2 s" in (done.tasks[0].reason_for_incompletion or "")


async def test_bad_input_fails_the_task_for_good_naming_the_field(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with profile_worker(server, tmp_path):
        workflow_id = await submit(api, "chat", {"message": ["not", "text"]}, retryCount=2)
        [done] = await all_finished(api, [workflow_id])
    [task] = done.tasks
    assert task.status is TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert task.reason_for_incompletion == "input.message must be a string, got list"


async def test_a_bad_profile_stops_useragent_run_with_exit_2(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, {"command": "x", "streaming": "yes"})
    env = clean_env(CONDUCTOR_SERVER_URL="http://127.0.0.1:9/api", USERAGENT_AGENT_ID="chat")
    code, output = await run_cli(["run", "--profile", str(profile)], cwd=tmp_path, env=env)
    assert code == 2
    assert f"useragent run: {profile}: streaming must be true or false" in output
    code, output = await run_cli(
        ["run", "agent.py", "--profile", str(profile)], cwd=tmp_path, env=env
    )
    assert (code, output.strip()) == (
        2,
        "useragent run: pass a script or --profile PROFILE.yaml, not both",
    )


async def test_a_script_can_register_a_profile_next_to_its_own_agents(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "agent.py").write_text(textwrap.dedent(AGENT))
    write_profile(tmp_path, {"command": sys.executable, "args": ["agent.py"], "cwd": "."})
    script = tmp_path / "agents.py"
    script.write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            from user_agent_sdk import user_agent
            from user_agent_sdk.profiles import register_profile

            register_profile(Path(__file__).parent / "profile.yaml", agent_id="chat", workers=2)


            @user_agent(agent_id="plain")
            def plain(input_data):
                return {"plain": True}
            """
        )
    )
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["run", str(script)], cwd=tmp_path, env=env) as worker:
        await worker.wait_for(r"profile .*profile\.yaml: serving agent id 'chat' with 2 workers")
        ids = [await submit(api, "chat", {"message": "hi"}), await submit(api, "plain", {})]
        done = await all_finished(api, ids)
        worker.signal(signal.SIGTERM)
        assert await worker.wait() == 0
    assert done[0].output["response"] == '["hi", "", "default", ""]'
    assert done[1].output == {"plain": True}
