"""Every rule of wire 0.4's output tables, read from a real agent's stdout (``events.py``
writes the lines a test chooses): events, ordering, session, body, usage, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentproc.bridge import Partial, Profile

from .support import Turn, events_agent, make_profile, run, wire


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return make_profile(tmp_path, **events_agent())


def exiting(tmp_path: Path, code: int, **keys: object) -> Profile:
    return make_profile(
        tmp_path / f"exit{code}", **events_agent(env={"WIRE_EXIT": str(code)}, **keys)
    )


def event(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


async def say(profile: Profile, *lines: str, session_id: str = "") -> Turn:
    return await run(profile, wire(*lines), session_id=session_id)


# -- the event vocabulary ------------------------------------------------------------------


async def test_partials_are_forwarded_live_with_their_role(profile: Profile) -> None:
    turn = await say(
        profile,
        event(type="partial", text="hmm", role="thinking"),
        event(type="partial", text="Hel", role="output"),
        event(type="partial", text="lo"),
        event(type="partial", text="x", role="narration"),
    )
    assert turn.delivered == ["hmm", "Hel", "lo", "x"]
    assert [p.role for p in turn.delivered if isinstance(p, Partial)] == [
        "thinking",
        "output",
        None,
        "narration",
    ]
    assert turn.result.thinking == ("hmm",)
    assert turn.result.output_partials == ("Hel", "lo")
    assert (turn.result.reply, turn.result.exit_code) == ("", 0)


async def test_fields_of_the_wrong_type_read_as_empty_and_a_bad_role_is_dropped(
    profile: Profile,
) -> None:
    turn = await say(
        profile,
        event(type="partial", text=42, role=7),
        event(type="result", text=True),
    )
    assert turn.delivered == [""]
    assert turn.delivered[0].role is None  # type: ignore[attr-defined]
    assert (turn.result.reply, turn.result.ok) == ("", True)


@pytest.mark.parametrize(
    "line",
    [
        "plain text",
        "",
        "   ",
        "[1, 2]",
        "42",
        '{"text": "no type"}',
        '{"type": "unknown"}',
        '{"type": "PARTIAL", "text": "case matters"}',
        '{"type": "session", "id": "s1"}',
        '{"type": "text", "text": "0.3 body"}',
        'AGENT_PARTIAL:"0.1 line"',
    ],
)
async def test_a_malformed_line_is_dropped_with_a_warning_and_never_body(
    profile: Profile, line: str
) -> None:
    turn = await say(profile, line, event(type="result", text="the reply"))
    assert (turn.result.reply, turn.result.session_id, turn.result.ok) == ("the reply", "", True)
    assert turn.delivered == []
    assert len(turn.warnings) == 1
    assert "not a wire-0.4 event" in turn.warnings[0]


async def test_leading_and_trailing_whitespace_around_an_event_is_fine(profile: Profile) -> None:
    turn = await say(profile, "  " + event(type="result", text="ok") + "  ")
    assert (turn.result.reply, turn.warnings) == ("ok", [])


# -- body ------------------------------------------------------------------------------------


async def test_without_partials_the_result_text_is_the_reply(profile: Profile) -> None:
    turn = await say(profile, event(type="result", text="line 1\n  line 2"))
    assert turn.result.reply == "line 1\n  line 2"


async def test_when_partials_went_out_the_result_text_is_not_sent_again(profile: Profile) -> None:
    turn = await say(
        profile, event(type="partial", text="streamed"), event(type="result", text="streamed")
    )
    assert (turn.delivered, turn.result.reply) == (["streamed"], "")


async def test_with_streaming_off_partials_are_ignored_and_the_result_is_the_body(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, **events_agent(streaming=False))
    turn = await say(profile, event(type="partial", text="ignored"), event(type="result", text="b"))
    assert (turn.delivered, turn.result.partials, turn.result.reply) == ([], (), "b")


async def test_exit_0_with_no_events_is_a_success(profile: Profile) -> None:
    result = (await say(profile, "@sleep 0")).result
    assert (result.ok, result.reply, result.error, result.session_id) == (True, "", None, "")


async def test_exit_0_with_partials_only_is_a_success(profile: Profile) -> None:
    turn = await say(profile, event(type="partial", text="all of it"))
    assert (turn.result.ok, turn.delivered) == (True, ["all of it"])


# -- ordering --------------------------------------------------------------------------------


async def test_at_most_one_result_later_ones_are_warned_about(profile: Profile) -> None:
    turn = await say(profile, event(type="result", text="one"), event(type="result", text="two"))
    assert turn.result.reply == "one"
    assert any("second" in warning for warning in turn.warnings)


async def test_the_first_error_fails_the_turn_even_on_exit_0(profile: Profile) -> None:
    turn = await say(
        profile,
        event(type="partial", text="before"),
        event(type="error", message="rate limited"),
        event(type="partial", text="after"),
        event(type="result", text="dropped"),
        event(type="error", message="second error"),
    )
    result = turn.result
    assert (result.exit_code, result.error, result.reply) == (1, "rate limited", "")
    assert turn.delivered == ["before"]


async def test_an_error_keeps_a_non_zero_exit_code_of_the_process(tmp_path: Path) -> None:
    turn = await say(exiting(tmp_path, 3), event(type="error", message="why"))
    assert (turn.result.exit_code, turn.result.error) == (3, "why")


async def test_a_non_zero_exit_without_an_error_gets_a_generic_one(tmp_path: Path) -> None:
    turn = await say(exiting(tmp_path, 7), event(type="result", text="partial answer"))
    assert (turn.result.exit_code, turn.result.error) == (7, "the agent failed (exit status 7)")


async def test_a_missing_error_message_reads_as_empty_and_still_fails(profile: Profile) -> None:
    result = (await say(profile, event(type="error"))).result
    assert (result.exit_code, result.error) == (1, "")


async def test_a_timeout_wins_over_an_error_and_sent_partials_stay(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, **events_agent(timeout_secs=0.5, kill_grace_secs=0.5))
    turn = await say(
        profile,
        event(type="partial", text="started"),
        event(type="error", message="first"),
        "@sleep 30",
    )
    result = turn.result
    assert (result.exit_code, result.timed_out, turn.delivered) == (124, True, ["started"])
    assert result.error == "the agent did not finish within 0.5 s"


# -- usage -----------------------------------------------------------------------------------


async def test_usage_of_the_result_is_in_the_run_result_unknown_keys_dropped(
    profile: Profile,
) -> None:
    usage = {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.01, "colour": "blue"}
    turn = await say(profile, event(type="result", text="", usage=usage))
    assert turn.result.usage == {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.01}


async def test_usage_of_an_error_is_kept_and_usage_on_a_partial_is_ignored(
    profile: Profile,
) -> None:
    turn = await say(
        profile,
        event(type="partial", text="x", usage={"input_tokens": 99}),
        event(type="error", message="m", usage={"duration_ms": 1500}),
    )
    assert turn.result.usage == {"duration_ms": 1500}


async def test_no_usage_is_none(profile: Profile) -> None:
    assert (await say(profile, event(type="result", text="x"))).result.usage is None


# -- session ---------------------------------------------------------------------------------


async def test_the_first_session_id_wins_and_a_different_later_one_is_warned_about(
    profile: Profile,
) -> None:
    turn = await say(
        profile,
        event(type="partial", text="a", session_id="first id: ok"),
        event(type="result", text="b", session_id="second"),
    )
    assert turn.result.session_id == "first id: ok"
    assert any("first one wins" in warning for warning in turn.warnings)


async def test_the_same_id_again_is_no_violation(profile: Profile) -> None:
    turn = await say(
        profile,
        event(type="partial", text="a", session_id="s1"),
        event(type="result", text="b", session_id="s1"),
    )
    assert (turn.result.session_id, turn.warnings) == ("s1", [])


async def test_an_id_on_an_error_or_a_partial_after_it_still_counts(profile: Profile) -> None:
    turn = await say(
        profile,
        event(type="error", message="failed"),
        event(type="partial", text="late", session_id="after-error"),
    )
    assert (turn.result.session_id, turn.result.error) == ("after-error", "failed")


@pytest.mark.parametrize("bad", ["a/b", "a\\b", ".", "..", "nul\u0000", "tab\t", 42])
async def test_an_invalid_id_is_warned_about_and_an_earlier_valid_one_kept(
    profile: Profile, bad: object
) -> None:
    turn = await say(
        profile,
        event(type="partial", text="x", session_id="kept"),
        event(type="result", text="y", session_id=bad),
    )
    assert turn.result.session_id == "kept"
    assert any("ignored session_id" in warning for warning in turn.warnings)


async def test_without_an_id_nothing_is_learned_and_the_inbound_one_is_not_copied(
    profile: Profile,
) -> None:
    turn = await say(profile, event(type="result", text="x"), session_id="inbound")
    assert turn.result.session_id == ""


async def test_an_empty_id_is_not_an_id(profile: Profile) -> None:
    turn = await say(profile, event(type="result", text="x", session_id=""))
    assert (turn.result.session_id, turn.warnings) == ("", [])
