"""Any text survives the wire: what the SDK writes, a spec-following bridge reads back exactly
(a reply line that starts with a protocol prefix gets the one space the protocol asks for).

The handler runs in process (``agentproc.testing.run_handler``, the same writer and
encoding as a real agent); its stdout bytes go to ``reference_bridge``, written from the
spec alone.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentproc import AgentContext, AgentResult, ProtocolError
from agentproc.testing import run_handler
from tests.agentproc import reference_bridge

# Text made of the pieces that could break a line protocol, so that prefixes at line
# starts, after spaces and after \r turn up in nearly every example.
TRICKY = st.lists(
    st.sampled_from(
        [
            "AGENT_SESSION:",
            "AGENT_PARTIAL:",
            "AGENT_ERROR:",
            "AGENT_",
            " ",
            "  ",
            "\n",
            "\r",
            "\r\n",
            "\n\n",
            '"',
            "\\",
            "x",
            "\u2028",
            "\x85",
            "\x00",
            "é",
            "日本",
            "{}",
            '""',
        ]
    ),
    max_size=24,
).map("".join)
TEXT = st.one_of(st.text(), TRICKY)
# Partials are JSON, which can carry lone surrogates (e.g. text decoded with surrogateescape).
TEXT_WITH_SURROGATES = st.one_of(
    TEXT, st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])))
)
SESSION_IDS = st.text("ABCXYZabcxyz0189._~+/=-", min_size=1, max_size=40)

# No deadline: the machine is shared, and one slow example is not a failure.
THOROUGH = settings(deadline=None, max_examples=150)


@THOROUGH
@given(st.lists(TEXT_WITH_SURROGATES, max_size=6))
async def test_partials_are_recovered_exactly_in_order(chunks: list[str]) -> None:
    async def handler(ctx: AgentContext) -> None:
        for chunk in chunks:
            await ctx.send_partial(chunk)

    outcome = await run_handler(handler)
    view = reference_bridge.read(outcome.stdout)
    sent = [chunk for chunk in chunks if chunk]  # an empty chunk sends nothing
    assert view.partials == sent
    assert view.body_lines == []
    assert outcome.partials == sent


@THOROUGH
@given(TEXT)
async def test_a_returned_body_is_recovered_exactly(text: str) -> None:
    async def handler(ctx: AgentContext) -> str:
        return text

    outcome = await run_handler(handler)
    view = reference_bridge.read(outcome.stdout)
    shown = reference_bridge.as_shown(text)
    assert (view.body, view.partials, view.error, view.session_id) == (shown, [], None, None)
    assert outcome.reply == shown


@THOROUGH
@given(st.lists(TEXT, max_size=4), TEXT, SESSION_IDS)
async def test_partials_session_and_body_are_each_recovered(
    chunks: list[str], body: str, session_id: str
) -> None:
    async def handler(ctx: AgentContext) -> AgentResult:
        for chunk in chunks:
            await ctx.send_partial(chunk)
        return AgentResult(response=body, session_id=session_id)

    outcome = await run_handler(handler)
    view = reference_bridge.read(outcome.stdout)
    assert view.partials == [chunk for chunk in chunks if chunk]
    assert view.session_id == session_id
    assert view.body == reference_bridge.as_shown(body)
    assert view.error is None


@THOROUGH
@given(TEXT_WITH_SURROGATES, TEXT)
async def test_an_error_is_recovered_exactly_and_ends_the_turn(error: str, body: str) -> None:
    async def handler(ctx: AgentContext) -> str:
        await ctx.send_error(error)
        await ctx.send_partial("after the error")
        return body

    outcome = await run_handler(handler)
    view = reference_bridge.read(outcome.stdout)
    assert (view.error, view.partials, view.body_lines) == (error, [], [])
    assert outcome.exit_status == 1


@THOROUGH
@given(TEXT)
async def test_a_protocol_error_message_is_recovered_exactly(message: str) -> None:
    async def handler(ctx: AgentContext) -> str:
        raise ProtocolError(message)

    outcome = await run_handler(handler)
    assert reference_bridge.read(outcome.stdout).error == message
    assert outcome.exit_status == 1
