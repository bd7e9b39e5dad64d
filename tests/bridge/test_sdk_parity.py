"""The runner drives agents on our SDK and on the original ``agentproc==0.4.2`` alike.

Each case is one handler, written once and run under both SDKs (same source, each with
its own interpreter); the bridge must report the same turn for both, and that turn must be
the one the spec describes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

from agentproc.bridge import RunResult

from .support import PYTHON, make_profile, run

pytestmark = pytest.mark.slow

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "a plain reply": (
        """
        async def handler(ctx):
            return "hello " + ctx.message
        """,
        {"reply": "hello world", "exit_code": 0},
    ),
    "a reply and a session id": (
        """
        async def handler(ctx):
            return AgentResult(response="two\\nlines", session_id="sess-" + ctx.session_name)
        """,
        {"reply": "two\nlines", "session_id": "sess-chat"},
    ),
    "partials, then only a session id": (
        """
        async def handler(ctx):
            await ctx.send_partial("Hel")
            await ctx.send_partial("lo, wörld")
            return AgentResult(response="", session_id="s-9")
        """,
        {"partials": ("Hel", "lo, wörld"), "reply": "", "session_id": "s-9", "exit_code": 0},
    ),
    "what the agent was told": (
        """
        import json

        async def handler(ctx):
            return json.dumps([ctx.message, ctx.session_id, ctx.session_name, ctx.from_user,
                               ctx.streaming, ctx.protocol_version])
        """,
        {"reply": '["world", "prev-1", "chat", "u-7", true, "0.1"]'},
    ),
    "send_error, then a reply that must be discarded": (
        """
        async def handler(ctx):
            await ctx.send_partial("trying")
            await ctx.send_error("rate limited; retry in 60s")
            return "discarded"
        """,
        {
            "partials": ("trying",),
            "error": "rate limited; retry in 60s",
            "reply": "",
            "exit_code": 1,
        },
    ),
    "raise ProtocolError": (
        """
        async def handler(ctx):
            raise ProtocolError("bad input")
        """,
        {"error": "bad input", "exit_code": 1, "reply": ""},
    ),
    "any other exception": (
        """
        async def handler(ctx):
            raise RuntimeError("bug")
        """,
        {"error": "the agent failed (exit status 1)", "exit_code": 1, "reply": ""},
    ),
    "an invalid session id keeps the previous one": (
        """
        async def handler(ctx):
            return AgentResult(response="ok", session_id="not valid")
        """,
        {"reply": "ok", "session_id": "prev-1", "exit_code": 0},
    ),
    "a handler that never finishes": (
        """
        import time

        async def handler(ctx):
            await ctx.send_partial("started")
            time.sleep(3600)
        """,
        {"partials": ("started",), "timed_out": True, "exit_code": 124, "reply": ""},
    ),
}

HEADER = "from agentproc import AgentResult, ProtocolError, create_profile\n"
FOOTER = "\ncreate_profile(handler)\n"
COMPARED = ("reply", "session_id", "error", "exit_code", "partials", "timed_out")


def comparable(result: RunResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in COMPARED}


@pytest.mark.parametrize("case", CASES)
async def test_both_sdks_give_the_same_turn(
    tmp_path: Path, original_python: Path, case: str
) -> None:
    source, expected = CASES[case]
    script = tmp_path / "agent.py"
    script.write_text(HEADER + textwrap.dedent(source) + FOOTER)
    results: dict[str, RunResult] = {}

    async def run_with(name: str, python: Path | str) -> None:
        profile = make_profile(
            tmp_path / name,
            command=str(python),
            args=[str(script)],
            timeout_secs=6,  # a Python start on a loaded machine, and then some
            kill_grace_secs=0.5,
        )
        turn = await run(
            profile, "world", session_id="prev-1", session_name="chat", from_user="u-7"
        )
        results[name] = turn.result

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_with, "ours", PYTHON)
        nursery.start_soon(run_with, "original", original_python)
    ours, original = comparable(results["ours"]), comparable(results["original"])
    assert ours == original
    assert ours == {**ours, **expected}


async def test_partials_are_ignored_for_both_when_streaming_is_off(
    tmp_path: Path, original_python: Path
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        HEADER
        + textwrap.dedent(
            """
            async def handler(ctx):
                await ctx.send_partial("chunk")
                return f"streaming={ctx.streaming}"
            """
        )
        + FOOTER
    )
    for name, python in (("ours", PYTHON), ("original", original_python)):
        profile = make_profile(
            tmp_path / name, command=str(python), args=[str(script)], streaming=False
        )
        turn = await run(profile)
        assert comparable(turn.result) == {
            "reply": "streaming=False",
            "session_id": "",
            "error": None,
            "exit_code": 0,
            "partials": (),
            "timed_out": False,
        }
