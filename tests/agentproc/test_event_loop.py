"""Async handlers written for asyncio (as the protocol's own SDKs run every handler) run on
asyncio; handlers written for trio keep running on trio. Both wires."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from agentproc import AgentContext
from agentproc._context import Wire
from agentproc._outcome import default_event_loop
from agentproc.testing import run_handler

from .agents import TIMEOUT, agent_env, write_agent

ASYNCIO_AGENT = """\
import asyncio

from agentproc import AgentResult, create_profile


async def handler(ctx):
    await ctx.send_partial("waiting")
    await asyncio.sleep(0.01)
    done = await asyncio.gather(asyncio.sleep(0, "a"), asyncio.sleep(0, "b"))
    return AgentResult("".join(done) + " " + ctx.message, session_id="s1")


create_profile(handler)
"""


async def asyncio_handler(ctx: AgentContext) -> str:
    await asyncio.sleep(0)
    return "on asyncio"


async def trio_handler(ctx: AgentContext) -> str:
    await trio.sleep(0)
    return "on trio"


def test_the_default_follows_what_the_handlers_module_uses() -> None:
    # This module imports both: trio wins, as it always did.
    assert default_event_loop(trio_handler) == "trio"
    namespace: dict[str, object] = {"asyncio": asyncio}
    exec("async def handler(ctx):\n    return 1\n", namespace)
    assert default_event_loop(namespace["handler"]) == "asyncio"
    exec("import trio\nasync def handler(ctx):\n    return 1\n", namespace)
    assert default_event_loop(namespace["handler"]) == "trio"
    assert default_event_loop(lambda ctx: "sync") == "trio"


@pytest.mark.parametrize("wire", ["0.1", "0.4"])
async def test_an_asyncio_handler_runs_on_asyncio_when_asked(wire: Wire) -> None:
    outcome = await run_handler(asyncio_handler, AgentContext(wire=wire), event_loop="asyncio")
    assert (outcome.exit_status, outcome.reply) == (0, "on asyncio")


async def test_request_permission_works_from_asyncio() -> None:
    async def handler(ctx: AgentContext) -> str:
        decision = await ctx.request_permission("Read", deny_after=10)
        await asyncio.sleep(0)
        return decision.behavior

    answer = {"type": "permission_response", "request_id": "agentproc-1", "behavior": "allow"}
    outcome = await run_handler(
        handler,
        AgentContext(wire="0.4", permission=True),
        permission_responses=[answer],
        event_loop="asyncio",
    )
    assert outcome.events[-1] == {"type": "result", "text": "allow"}


def run_script(tmp_path: Path, stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    script = write_agent(tmp_path, ASYNCIO_AGENT)
    return subprocess.run(
        [sys.executable, str(script)],
        input=stdin,
        capture_output=True,
        env=agent_env(tmp_path, env),
        timeout=TIMEOUT,
        check=False,
    )


def test_an_agent_written_for_asyncio_answers_a_04_turn(tmp_path: Path) -> None:
    done = run_script(tmp_path, b'{"type":"turn","message":"x"}\n')
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"type": "partial", "text": "waiting"},
        {"type": "result", "text": "ab x", "session_id": "s1"},
    ]


def test_an_agent_written_for_asyncio_answers_a_01_turn(tmp_path: Path) -> None:
    done = run_script(tmp_path, b"", AGENT_MESSAGE="x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        'AGENT_PARTIAL:"waiting"',
        "AGENT_SESSION:s1",
        "ab x",
    ]


def test_sigterm_ends_an_asyncio_handler_with_143(tmp_path: Path) -> None:
    script = write_agent(
        tmp_path,
        textwrap.dedent(
            """
            import asyncio
            from agentproc import create_profile

            async def handler(ctx):
                await ctx.send_partial("started")
                await asyncio.sleep(3600)

            create_profile(handler)
            """
        ),
    )
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=agent_env(tmp_path),
    ) as agent:
        assert agent.stdin is not None
        assert agent.stdout is not None
        agent.stdin.write(b'{"type":"turn","message":"x"}\n')
        agent.stdin.close()
        assert json.loads(agent.stdout.readline()) == {"type": "partial", "text": "started"}
        agent.terminate()
        assert agent.wait(timeout=TIMEOUT) == 143
