"""The SDK in wire 0.4: a stdin turn line in, NDJSON events out (``agentproc-wire-0.4.md``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

from agentproc import AgentContext, AgentResult, ProtocolError
from agentproc._context import context_from_turn_line, wire_of
from agentproc.testing import run_handler

from .agents import TIMEOUT, agent_env, write_agent

WIRE04 = AgentContext(message="hi", wire="0.4", protocol_version="0.4")


def turn_line(**fields: Any) -> bytes:
    return json.dumps({"type": "turn", **fields}).encode() + b"\n"


# -- which wire ------------------------------------------------------------------------------


def test_any_agent_variable_means_wire_01_and_none_means_04() -> None:
    assert wire_of({"AGENT_PROTOCOL_VERSION": "0.1"}) == "0.1"
    assert wire_of({"AGENT_MESSAGE": ""}) == "0.1"
    assert wire_of({"PATH": "/bin", "AGENT_DEBUG": "1"}) == "0.4"


# -- the turn line ---------------------------------------------------------------------------


def test_every_turn_field_reaches_the_context() -> None:
    attachments = [{"kind": "image", "url": "https://x.test/a.png", "extra": 1}]
    line = turn_line(
        message="m",
        session_id="s 1:x",
        session_name="work",
        protocol_version="0.4",
        attachments=attachments,
        permission=True,
    )
    context = context_from_turn_line(line, lambda _: None)
    assert (context.wire, context.message, context.session_id, context.session_name) == (
        "0.4",
        "m",
        "s 1:x",
        "work",
    )
    assert (context.protocol_version, context.attachments, context.permission) == (
        "0.4",
        attachments,
        True,
    )


@pytest.mark.parametrize(
    "line",
    [b"", b"\n", b"not json\n", b"[1]\n", b'{"type":"turn"}\n'],
)
def test_a_missing_or_bad_turn_gives_the_defaults(line: bytes) -> None:
    context = context_from_turn_line(line, lambda _: None)
    assert (context.message, context.session_id, context.session_name) == ("", "", "default")
    assert (context.protocol_version, context.attachments, context.permission) == ("0.4", [], False)


def test_fields_of_the_wrong_json_type_take_their_defaults() -> None:
    line = turn_line(message=5, session_id=None, attachments={}, permission="yes")
    warnings: list[str] = []
    context = context_from_turn_line(line, warnings.append)
    assert (context.message, context.session_id, context.attachments, context.permission) == (
        "",
        "",
        [],
        False,
    )
    assert len(warnings) == 3


def test_another_protocol_version_is_kept_and_warned_about() -> None:
    warnings: list[str] = []
    context = context_from_turn_line(turn_line(protocol_version="0.5"), warnings.append)
    assert context.protocol_version == "0.5"
    assert "'0.5'" in warnings[0]


# -- events ----------------------------------------------------------------------------------


async def test_a_returned_string_is_one_result_event() -> None:
    async def handler(ctx: AgentContext) -> str:
        return f"you said {ctx.message}"

    outcome = await run_handler(handler, WIRE04)
    assert outcome.stdout == b'{"type":"result","text":"you said hi"}\n'
    assert outcome.exit_status == 0


async def test_an_agent_result_carries_session_id_and_usage_on_the_result() -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        return AgentResult("ok", session_id="s 1:ü", usage={"input_tokens": 3, "cost_usd": 0.5})

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events == [
        {
            "type": "result",
            "text": "ok",
            "session_id": "s 1:ü",
            "usage": {"input_tokens": 3, "cost_usd": 0.5},
        }
    ]
    assert (outcome.session_id, outcome.usage) == ("s 1:ü", {"input_tokens": 3, "cost_usd": 0.5})


async def test_usage_alone_still_ends_with_an_empty_result() -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        await ctx.send_partial("all of it")
        return AgentResult(usage={"output_tokens": 9})

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events[-1] == {"type": "result", "text": "", "usage": {"output_tokens": 9}}


@pytest.mark.parametrize("returned", [None, "", AgentResult()])
async def test_nothing_to_say_writes_no_result(returned: str | AgentResult | None) -> None:
    async def handler(ctx: AgentContext) -> str | AgentResult | None:
        return returned

    outcome = await run_handler(handler, WIRE04)
    assert (outcome.stdout, outcome.exit_status) == (b"", 0)


@pytest.mark.parametrize("bad_id", ["a/b", "a\\b", ".", "..", "tab\there"])
async def test_an_id_the_wire_refuses_is_not_written(bad_id: str) -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        return AgentResult("still answered", session_id=bad_id)

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events == [{"type": "result", "text": "still answered"}]
    assert f"session id {bad_id!r} was not written" in outcome.stderr


async def test_partials_carry_their_role_and_empty_ones_send_nothing() -> None:
    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial("hmm", role="thinking")
        await ctx.send_partial("")
        await ctx.send_partial("Hello", role="output")
        await ctx.send_partial(" world")

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events == [
        {"type": "partial", "text": "hmm", "role": "thinking"},
        {"type": "partial", "text": "Hello", "role": "output"},
        {"type": "partial", "text": " world"},
    ]


async def test_a_partial_is_written_at_call_time_even_without_await() -> None:
    async def handler(ctx: AgentContext) -> None:
        ctx.send_partial("bare")  # the protocol SDK's partials need no await either

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events == [{"type": "partial", "text": "bare"}]


async def test_send_error_is_not_terminal_the_reply_is_still_written() -> None:
    async def handler(ctx: AgentContext) -> str:
        await ctx.send_error("rate limited")
        await ctx.send_error("")
        await ctx.send_partial("after")
        return "discarded by the bridge"

    outcome = await run_handler(handler, WIRE04)
    assert [event["type"] for event in outcome.events] == ["error", "partial", "result"]
    assert (outcome.exit_status, outcome.error, outcome.reply) == (0, "rate limited", "")


@pytest.mark.parametrize(("message", "shown"), [("bad input", "bad input"), ("", "unknown error")])
async def test_protocol_error_is_an_error_event_and_exit_1(message: str, shown: str) -> None:
    async def handler(ctx: AgentContext) -> str:
        raise ProtocolError(message)

    outcome = await run_handler(handler, WIRE04)
    assert (outcome.events, outcome.exit_status) == ([{"type": "error", "message": shown}], 1)


async def test_any_other_exception_goes_to_stderr_with_no_event() -> None:
    async def handler(ctx: AgentContext) -> str:
        raise KeyError("bug")

    outcome = await run_handler(handler, WIRE04)
    assert (outcome.stdout, outcome.exit_status) == (b"", 1)
    assert "the handler failed: KeyError" in outcome.stderr


async def test_line_breaks_inside_text_stay_inside_one_line() -> None:
    async def handler(ctx: AgentContext) -> str:
        return "a\nb\r\u2028c\x85"

    outcome = await run_handler(handler, WIRE04)
    assert outcome.stdout.count(b"\n") == 1
    assert outcome.reply == "a\nb\r\u2028c\x85"


async def test_a_sync_handler_sends_from_its_thread() -> None:
    def handler(ctx: AgentContext) -> str:
        ctx.send_partial("from a thread")
        return "done"

    outcome = await run_handler(handler, WIRE04)
    assert [event["type"] for event in outcome.events] == ["partial", "result"]


# -- permission ------------------------------------------------------------------------------

PERMITTED = AgentContext(message="hi", wire="0.4", permission=True)


def allow(request_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "permission_response", "request_id": request_id, "behavior": "allow", **extra}


async def test_the_protocol_sdks_request_and_read_response() -> None:
    async def handler(ctx: AgentContext) -> str:
        ctx.send_permission_request({"request_id": "1", "tool_name": "Bash", "input": {"c": 1}})
        response = ctx.read_permission_response()
        assert response is not None
        return str(response["behavior"])

    outcome = await run_handler(handler, PERMITTED, permission_responses=[allow("1")])
    assert outcome.events == [
        {"type": "permission_request", "request_id": "1", "tool_name": "Bash", "input": {"c": 1}},
        {"type": "result", "text": "allow"},
    ]


async def test_read_permission_response_is_none_at_end_of_file() -> None:
    async def handler(ctx: AgentContext) -> str:
        return repr(ctx.read_permission_response())

    assert (await run_handler(handler, PERMITTED)).reply == "None"


async def test_request_permission_waits_for_its_own_answer() -> None:
    async def handler(ctx: AgentContext) -> str:
        decisions: dict[str, str] = {}

        async def ask(tool: str) -> None:
            decision = await ctx.request_permission(tool, {"t": tool}, deny_after=10)
            decisions[tool] = f"{decision.behavior}:{decision.updated_input}:{decision.message}"

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "Bash")
            await trio.sleep(0.01)
            nursery.start_soon(ask, "Read")
        return json.dumps(decisions, sort_keys=True)

    responses = [
        {"type": "permission_response", "request_id": "agentproc-2", "behavior": "deny",
         "message": "no"},
        allow("agentproc-1", updated_input={"t": "safe"}),
    ]  # fmt: skip
    outcome = await run_handler(handler, PERMITTED, permission_responses=responses)
    assert json.loads(outcome.reply) == {"Bash": "allow:{'t': 'safe'}:", "Read": "deny:None:no"}
    assert [event.get("tool_name") for event in outcome.events[:2]] == ["Bash", "Read"]


async def test_request_permission_denies_when_stdin_ends_unanswered() -> None:
    async def handler(ctx: AgentContext) -> str:
        decision = await ctx.request_permission("Bash", deny_after=10)
        return f"{decision.allowed} {decision.message}"

    assert (await run_handler(handler, PERMITTED)).reply == "False no answer: stdin ended"


async def test_permission_calls_refuse_when_the_bridge_did_not_open_the_channel() -> None:
    async def handler(ctx: AgentContext) -> str:
        with pytest.raises(RuntimeError, match="permission: true"):
            ctx.send_permission_request({"request_id": "1", "tool_name": "Bash", "input": {}})
        with pytest.raises(RuntimeError, match="permission: true"):
            await ctx.request_permission("Bash")
        return "refused"

    outcome = await run_handler(handler, WIRE04)
    assert outcome.events == [{"type": "result", "text": "refused"}]


# -- a real process --------------------------------------------------------------------------

AGENT = """\
import json
from agentproc import AgentResult, create_profile

async def handler(ctx):
    if ctx.permission:
        decision = await ctx.request_permission("Bash", {"command": "ls"}, deny_after=30)
        return json.dumps([decision.behavior, decision.updated_input])
    return AgentResult(json.dumps([ctx.message, ctx.session_id, ctx.attachments]), "next 1")

create_profile(handler)
"""


def run_agent(tmp_path: Path, stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    script = write_agent(tmp_path, AGENT)
    return subprocess.run(
        [sys.executable, str(script)],
        input=stdin,
        capture_output=True,
        env=agent_env(tmp_path, env),
        timeout=TIMEOUT,
        check=False,
    )


def test_a_process_without_agent_variables_reads_one_stdin_line(tmp_path: Path) -> None:
    line = turn_line(message="hé", session_id="s0", attachments=[{"kind": "file", "url": "u"}])
    done = run_agent(tmp_path, line + b"this second line is never read\n")
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert event == {
        "type": "result",
        "text": json.dumps(["hé", "s0", [{"kind": "file", "url": "u"}]]),
        "session_id": "next 1",
    }


def test_a_process_with_agent_variables_answers_in_wire_01(tmp_path: Path) -> None:
    done = run_agent(tmp_path, turn_line(message="ignored"), AGENT_MESSAGE="from env")
    # stdin is left alone; "next 1" is no 0.1 session id (a space), so only the body goes out.
    assert (done.returncode, done.stdout) == (0, b'["from env", "", []]\n')
    assert b"session id 'next 1' was not written" in done.stderr


def test_a_process_asks_for_permission_and_reads_the_answer(tmp_path: Path) -> None:
    answer = json.dumps(allow("agentproc-1", updated_input={"command": "ls -a"})).encode()
    done = run_agent(tmp_path, turn_line(message="x", permission=True) + answer + b"\n")
    assert done.returncode == 0, done.stderr
    request, result = (json.loads(line) for line in done.stdout.splitlines())
    assert request == {
        "type": "permission_request",
        "request_id": "agentproc-1",
        "tool_name": "Bash",
        "input": {"command": "ls"},
    }
    assert json.loads(result["text"]) == ["allow", {"command": "ls -a"}]


def test_source_of_the_wire_01_agent_is_unchanged(tmp_path: Path) -> None:
    # The seed's hello world answers a 0.1 bridge byte for byte as before.
    script = write_agent(
        tmp_path,
        textwrap.dedent(
            """
            from agentproc import create_profile

            async def handler(ctx):
                return "hello " + ctx.message

            create_profile(handler)
            """
        ),
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        env=agent_env(tmp_path, {"AGENT_MESSAGE": "world", "AGENT_PROTOCOL_VERSION": "0.1"}),
        timeout=TIMEOUT,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, b"hello world\n")


def test_a_process_exits_cleanly_while_its_stdin_reader_still_waits(tmp_path: Path) -> None:
    # The bridge keeps stdin open (permission: true) and never answers: the request is
    # denied after deny_after, the handler returns, and the process must exit at once and
    # cleanly, with its stdin reader still blocked (it once aborted at shutdown).
    script = write_agent(
        tmp_path,
        textwrap.dedent(
            """
            from agentproc import create_profile

            async def handler(ctx):
                decision = await ctx.request_permission("Bash", deny_after=0.2)
                return decision.message

            create_profile(handler)
            """
        ),
    )
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=agent_env(tmp_path),
    ) as agent:
        assert agent.stdin is not None
        agent.stdin.write(turn_line(message="x", permission=True))
        agent.stdin.flush()
        stdout, stderr = _wait(agent)
    assert agent.returncode == 0, stderr
    assert json.loads(stdout.splitlines()[-1]) == {
        "type": "result",
        "text": "no answer within 0.2 s",
    }


def _wait(agent: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    assert agent.stdout is not None
    assert agent.stderr is not None
    agent.wait(timeout=TIMEOUT)  # stdin stays open: the agent exits on its own
    return agent.stdout.read(), agent.stderr.read()


# -- history with wire-0.4 session ids ------------------------------------------------------


async def test_history_takes_04_ids_during_a_04_turn_and_keeps_01_rules_otherwise(
    tmp_path: Path,
) -> None:
    from agentproc import HistoryEntry, append_history, load_history

    def handler(ctx: AgentContext) -> str:  # a sync handler: its thread sees the wire too
        append_history(ctx.session_id, [HistoryEntry("user", ctx.message)], tmp_path)
        append_history("a%2Fb", [HistoryEntry("user", "percent")], tmp_path)
        append_history("a/b", [HistoryEntry("user", "slash")], tmp_path)
        return "|".join(e.content for e in load_history(ctx.session_id, tmp_path))

    context = AgentContext(message="hi", session_id="org:proj thread-42", wire="0.4")
    outcome = await run_handler(handler, context)
    assert (outcome.exit_status, outcome.reply) == (0, "hi"), outcome.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "a%252Fb.jsonl",  # "%" is encoded, so it cannot meet "a/b" in "a%2Fb.jsonl"
        "a%2Fb.jsonl",
        "org:proj thread-42.jsonl",
    ]
    with pytest.raises(ValueError, match="name a history file"):
        load_history("org:proj thread-42", tmp_path)  # outside a 0.4 turn: 0.1's charset
    for bad in ("a/../b", "..", "nul\x00"):

        def refused(ctx: AgentContext, bad: str = bad) -> str:
            return str(load_history(bad, tmp_path))

        failed = await run_handler(refused, context)
        assert failed.exit_status == 1
        assert "cannot name a history file" in failed.stderr
