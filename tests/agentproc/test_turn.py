"""One turn, in process: return values, errors, the writer's rules, sync handlers."""

from __future__ import annotations

import io
import sys
import threading

import pytest
import trio

from agentproc import AgentContext, AgentResult, ProtocolError
from agentproc._stdout_writer import StdoutWriter
from agentproc._turn import Turn
from agentproc.testing import run_handler


async def test_a_returned_string_is_the_reply() -> None:
    async def handler(ctx: AgentContext) -> str:
        return f"you said {ctx.message}"

    outcome = await run_handler(handler, AgentContext(message="hi"))
    assert (outcome.exit_status, outcome.stdout) == (0, b"you said hi\n")
    assert outcome.reply == "you said hi"


async def test_returning_none_writes_nothing_more() -> None:
    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial("all of it")

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.lines) == (0, ['AGENT_PARTIAL:"all of it"'])


async def test_an_agent_result_declares_the_session_before_the_body() -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        return AgentResult(response="two\nlines", session_id="abc-123")

    outcome = await run_handler(handler)
    assert outcome.lines == ["AGENT_SESSION:abc-123", "two", "lines"]
    assert (outcome.session_id, outcome.reply) == ("abc-123", "two\nlines")


async def test_a_session_id_with_surrounding_whitespace_is_written_stripped() -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        return AgentResult(response="ok", session_id=" abc-123\n")

    outcome = await run_handler(handler)
    assert outcome.lines == ["AGENT_SESSION:abc-123", "ok"]


@pytest.mark.parametrize("bad_id", ["has space", "colon:inside", "tab\there", "ünïcode", "x\ny"])
async def test_an_invalid_session_id_is_refused_on_stderr_and_not_written(bad_id: str) -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        return AgentResult(response="still answered", session_id=bad_id)

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.lines) == (0, ["still answered"])
    assert f"session id {bad_id!r} was not written" in outcome.stderr
    assert "A-Z a-z 0-9" in outcome.stderr


async def test_body_lines_that_look_like_protocol_lines_get_a_leading_space() -> None:
    async def handler(ctx: AgentContext) -> str:
        return "AGENT_ERROR:not an error\n AGENT_SESSION:x\nfine AGENT_PARTIAL:"

    outcome = await run_handler(handler)
    assert outcome.lines == [
        " AGENT_ERROR:not an error",
        " AGENT_SESSION:x",
        "fine AGENT_PARTIAL:",
    ]
    assert (outcome.error, outcome.session_id) == (None, "")


async def test_an_indented_reply_keeps_every_leading_space() -> None:
    async def handler(ctx: AgentContext) -> str:
        return "    def f():\n        return 1\n  AGENT_ERROR:quoted in code"

    outcome = await run_handler(handler)
    assert outcome.reply == "    def f():\n        return 1\n  AGENT_ERROR:quoted in code"


async def test_a_body_ending_in_a_newline_keeps_it() -> None:
    async def handler(ctx: AgentContext) -> str:
        return "text\n"

    outcome = await run_handler(handler)
    assert (outcome.stdout, outcome.reply) == (b"text\n\n", "text\n")


async def test_a_partial_is_one_line_whatever_its_text() -> None:
    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial('a\nb\r"c"\u2028d\x85e')

    outcome = await run_handler(handler)
    assert outcome.lines == ['AGENT_PARTIAL:"a\\nb\\r\\"c\\"\\u2028d\\u0085e"']
    assert outcome.partials == ['a\nb\r"c"\u2028d\x85e']


async def test_an_empty_partial_sends_nothing() -> None:
    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial("")

    assert (await run_handler(handler)).stdout == b""


async def test_a_partial_is_on_stdout_when_send_partial_returns() -> None:
    seen: list[bytes] = []

    class Recorder:
        async def write(self, data: bytes) -> None:
            seen.append(data)

    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial("one")
        assert seen == [b'AGENT_PARTIAL:"one"\n']  # no other task had to run first

    turn = Turn(handler, AgentContext(), Recorder(), sys.stderr)
    assert await turn.run() == 0


async def test_send_error_discards_the_return_value_and_exits_1() -> None:
    async def handler(ctx: AgentContext) -> str:
        await ctx.send_partial("before")
        await ctx.send_error("it broke")
        await ctx.send_partial("after")
        await ctx.send_error("second error")
        return "discarded"

    outcome = await run_handler(handler)
    assert outcome.exit_status == 1
    assert outcome.lines == ['AGENT_PARTIAL:"before"', 'AGENT_ERROR:"it broke"']


async def test_nothing_from_other_tasks_is_written_after_an_error() -> None:
    async def chatter(ctx: AgentContext) -> None:
        while True:
            await ctx.send_partial("tick")

    async def handler(ctx: AgentContext) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(chatter, ctx)
            await trio.sleep(0.01)
            await ctx.send_error("stop")
            await trio.sleep(0.01)  # the chatter keeps sending; none of it may follow
            nursery.cancel_scope.cancel()

    outcome = await run_handler(handler)
    assert outcome.lines[-1] == 'AGENT_ERROR:"stop"'
    assert set(outcome.lines[:-1]) <= {'AGENT_PARTIAL:"tick"'}


async def test_protocol_error_after_partials_keeps_them_and_exits_1() -> None:
    async def handler(ctx: AgentContext) -> str:
        await ctx.send_partial("working")
        raise ProtocolError("bad input")

    outcome = await run_handler(handler)
    assert outcome.exit_status == 1
    assert outcome.lines == ['AGENT_PARTIAL:"working"', 'AGENT_ERROR:"bad input"']
    assert outcome.stderr == ""


async def test_protocol_error_raised_in_a_nursery_is_found_in_the_group() -> None:
    async def fail() -> None:
        raise ProtocolError("from a child task")

    async def handler(ctx: AgentContext) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.error) == (1, "from a child task")


async def test_another_exception_is_one_stderr_line_and_no_error_line() -> None:
    async def handler(ctx: AgentContext) -> str:
        raise ValueError("the model said no\nsecond line")

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.stdout) == (1, b"")
    assert outcome.stderr.splitlines() == [
        "agentproc: the handler failed: ValueError: the model said no second line"
        " (set AGENT_DEBUG=1 for the traceback)"
    ]


async def test_debug_shows_the_traceback() -> None:
    async def handler(ctx: AgentContext) -> str:
        raise ValueError("boom")

    outcome = await run_handler(handler, debug=True)
    assert outcome.exit_status == 1
    assert "Traceback (most recent call last)" in outcome.stderr
    assert 'raise ValueError("boom")' in outcome.stderr


async def test_a_return_value_of_another_type_is_refused() -> None:
    async def handler(ctx: AgentContext) -> object:
        return {"response": "dict"}

    outcome = await run_handler(handler)  # type: ignore[arg-type]
    assert (outcome.exit_status, outcome.stdout) == (1, b"")
    assert "the handler returned dict" in outcome.stderr


async def test_sys_exit_in_the_handler_sets_the_exit_status() -> None:
    async def handler(ctx: AgentContext) -> None:
        await ctx.send_partial("partial")
        sys.exit(3)

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.lines) == (3, ['AGENT_PARTIAL:"partial"'])


def sync_handler(ctx: AgentContext) -> AgentResult:
    ctx.send_partial(f"thread {threading.current_thread() is threading.main_thread()}")
    return AgentResult(response="done in a thread", session_id="s1")


async def test_a_sync_handler_runs_in_a_thread_and_sends_without_await() -> None:
    outcome = await run_handler(sync_handler)
    assert outcome.exit_status == 0
    assert outcome.lines == ['AGENT_PARTIAL:"thread False"', "AGENT_SESSION:s1", "done in a thread"]


async def test_a_sync_handler_can_send_an_error_from_its_thread() -> None:
    def handler(ctx: AgentContext) -> str:
        ctx.send_error("from the thread")
        return "discarded"

    outcome = await run_handler(handler)
    assert (outcome.exit_status, outcome.lines) == (1, ['AGENT_ERROR:"from the thread"'])


async def test_a_sync_handler_can_send_from_threads_it_starts() -> None:
    def handler(ctx: AgentContext) -> None:
        worker = threading.Thread(target=lambda: ctx.send_partial("from a helper thread"))
        worker.start()
        worker.join()

    outcome = await run_handler(handler)
    assert outcome.partials == ["from a helper thread"]


async def test_an_object_with_an_async_call_is_an_async_handler() -> None:
    class Agent:
        async def __call__(self, ctx: AgentContext) -> str:
            return "called"

    assert (await run_handler(Agent())).reply == "called"


async def test_a_context_made_by_hand_explains_how_to_run_it() -> None:
    with pytest.raises(RuntimeError, match=r"agentproc\.testing\.run_handler"):
        await AgentContext(message="hi").send_partial("x")


async def test_run_handler_reads_a_mapping_as_the_environment() -> None:
    async def handler(ctx: AgentContext) -> str:
        return f"{ctx.message} {ctx.session_name} {ctx.streaming}"

    outcome = await run_handler(handler, {"AGENT_MESSAGE": "hi", "AGENT_STREAMING": "0"})
    assert outcome.reply == "hi default False"


async def test_a_closed_stdout_fails_the_turn_with_a_message() -> None:
    class ClosedPipe:
        async def write(self, data: bytes) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    async def handler(ctx: AgentContext) -> str:
        await ctx.send_partial("lost")  # returns: the writer drops, it does not hang
        return "also lost"

    stderr = io.StringIO()
    assert await Turn(handler, AgentContext(), ClosedPipe(), stderr).run() == 1
    assert "stdout was closed by its reader" in stderr.getvalue()


async def test_stop_cancels_the_handler_and_keeps_what_was_written() -> None:
    stderr = io.StringIO()

    async def handler(ctx: AgentContext) -> str:
        await ctx.send_partial("before the signal")
        turn.stop(143)
        await trio.sleep_forever()

    class Buffer:
        data = b""

        async def write(self, data: bytes) -> None:
            Buffer.data += data

    turn = Turn(handler, AgentContext(), Buffer(), stderr)
    assert await turn.run() == 143
    assert Buffer.data == b'AGENT_PARTIAL:"before the signal"\n'


async def test_stop_abandons_a_blocked_sync_handler() -> None:
    release = threading.Event()

    def handler(ctx: AgentContext) -> None:
        ctx.send_partial("blocking")
        release.wait(30)
        ctx.send_partial("too late")  # after the turn: dropped, not an error

    class Buffer:
        data = b""

        async def write(self, data: bytes) -> None:
            Buffer.data += data

    turn = Turn(handler, AgentContext(), Buffer(), io.StringIO())
    async with trio.open_nursery() as nursery:

        async def stop_when_blocked() -> None:
            while not Buffer.data:
                await trio.sleep(0.01)
            turn.stop(130)

        nursery.start_soon(stop_when_blocked)
        with trio.fail_after(20):
            assert await turn.run() == 130
    release.set()
    assert Buffer.data == b'AGENT_PARTIAL:"blocking"\n'


async def test_the_writer_drops_lines_sent_after_it_closed() -> None:
    writer = StdoutWriter(_NullSink())
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.close()
    await writer.send_partial("after the turn")  # returns quietly


class _NullSink:
    async def write(self, data: bytes) -> None:
        pass
