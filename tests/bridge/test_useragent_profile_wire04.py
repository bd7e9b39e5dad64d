"""``useragent run --profile`` with a wire-0.4 profile: usage and thinking in the task's
output, permission requests decided by the profile's policy and logged, end to end."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.runtime.support import all_finished, clean_env, submit, task_logs, worker_process
from user_agent_sdk.conductor import TaskStatus
from user_agent_sdk.server import RunningServer

from .support import write_profile

pytestmark = pytest.mark.slow

AGENT = """
import json

from agentproc import AgentResult, create_profile


async def handler(ctx):
    await ctx.send_partial("weighing it up", role="thinking")
    decisions = []
    for tool in ("Read", "Bash"):
        decision = await ctx.request_permission(tool, {"path": "."}, deny_after=20)
        decisions.append(decision.behavior)
    await ctx.send_partial(json.dumps([ctx.message, decisions]))
    # Streamed already: the result carries no text again, only the session and usage.
    return AgentResult(session_id="s 1", usage={"input_tokens": 7, "output_tokens": 3})


create_profile(handler)
"""


async def test_a_04_turn_reports_usage_thinking_and_logged_permission_decisions(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "agent.py").write_text(textwrap.dedent(AGENT))
    profile = write_profile(
        tmp_path,
        {"name": "chat", "agentproc": {
            "command": sys.executable, "args": ["agent.py"], "cwd": ".", "permission": True,
            "allow_tools": ["Read"], "timeout_secs": 30}},
    )  # fmt: skip
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url, USERAGENT_AGENT_ID="chat")
    args = ["run", "--profile", str(profile), "-w", "2"]
    async with worker_process(args, cwd=tmp_path, env=env) as worker:
        await worker.wait_for(r"serving agent id 'chat' with 2 workers")
        ids = [await submit(api, "chat", {"message": "tidy up"}), await submit(api, "chat", {})]
        done, empty = await all_finished(api, ids)
        worker.signal(signal.SIGTERM)
        assert await worker.wait() == 0
    assert done.tasks[0].status is TaskStatus.COMPLETED, (
        done.tasks[0].reason_for_incompletion,
        await task_logs(api, done.tasks[0]),
    )
    assert done.output == {
        "response": "",
        "session_id": "s 1",
        "partials": [json.dumps(["tidy up", ["allow", "deny"]])],
        "thinking": ["weighing it up"],
        "usage": {"input_tokens": 7, "output_tokens": 3},
    }
    decisions = [line for line in await task_logs(api, done.tasks[0]) if "permission" in line]
    assert decisions == [
        'INFO permission request agentproc-1 to run Read (Read {"path": "."}): allowed',
        'INFO permission request agentproc-2 to run Bash (Bash {"path": "."}): '
        "denied (Bash is not an allowed tool (Read))",
    ]
    [task] = empty.tasks
    assert task.status is TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert "input.message is required" in (task.reason_for_incompletion or "")
