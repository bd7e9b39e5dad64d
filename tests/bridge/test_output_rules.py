"""Every output rule of wire 0.1, read from a real agent's stdout (``wire.sh`` writes the
lines a test chooses, so each rule is checked on exactly the bytes it is about)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentproc.bridge import Profile

from .support import Turn, agent, make_profile, run, wire


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return make_profile(tmp_path, command=agent("wire.sh"))


def failing(tmp_path: Path, code: int) -> Profile:
    return make_profile(
        tmp_path / f"exit{code}", command=agent("wire.sh"), env={"WIRE_EXIT": str(code)}
    )


async def say(profile: Profile, *lines: str, session_id: str = "") -> Turn:
    return await run(profile, wire(*lines), session_id=session_id)


# -- AGENT_SESSION ---------------------------------------------------------------------------


async def test_the_last_valid_session_line_wins_wherever_it_appears(profile: Profile) -> None:
    turn = await say(profile, "AGENT_SESSION:first", "body", "AGENT_SESSION:  second  ", "more")
    assert turn.result.session_id == "second"
    assert turn.result.reply == "body\nmore"


async def test_an_invalid_session_id_is_ignored_with_a_warning_and_the_previous_stays(
    profile: Profile,
) -> None:
    turn = await say(profile, "AGENT_SESSION:good-1", "AGENT_SESSION:has space", "AGENT_SESSION:")
    assert turn.result.session_id == "good-1"
    assert len(turn.warnings) == 2
    assert "ignored AGENT_SESSION:'has space'" in turn.warnings[0]
    assert "must not be empty" in turn.warnings[1]
    assert turn.result.warnings == tuple(turn.warnings)


@pytest.mark.parametrize("bad", ["a:b", "tab\there", "ctl\x01", "ünï"])
async def test_ids_outside_the_charset_are_refused(profile: Profile, bad: str) -> None:
    turn = await say(profile, f"AGENT_SESSION:{bad}", "ok")
    assert turn.result.session_id == ""
    assert turn.warnings


async def test_every_character_of_the_charset_is_accepted(profile: Profile) -> None:
    charset = "AZaz09._~+/=-"
    assert (await say(profile, f"AGENT_SESSION:{charset}")).result.session_id == charset


async def test_without_a_session_line_the_turns_session_id_carries_on(profile: Profile) -> None:
    assert (await say(profile, "hi", session_id="kept-1")).result.session_id == "kept-1"


# -- AGENT_PARTIAL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected", "warns"),
    [
        ('"plain"', "plain", False),
        ('"line\\nbreak \\u00e9 \\ud83d\\ude00"', "line\nbreak é 😀", False),
        ("", "", False),
        ("42", "42", False),
        ("true", "true", False),
        ("null", "null", False),
        ('["a"]', '["a"]', False),
        ('{"k": 1}', '{"k": 1}', False),
        ("not json", "not json", True),
        ('"unterminated', '"unterminated', True),
    ],
)
async def test_partial_payloads_decode_leniently(
    profile: Profile, payload: str, expected: str, warns: bool
) -> None:
    turn = await say(profile, f"AGENT_PARTIAL:{payload}")
    assert turn.delivered == [expected]
    assert turn.result.partials == (expected,)
    assert bool(turn.warnings) is warns
    assert turn.result.reply == ""


async def test_partials_are_not_part_of_the_body(profile: Profile) -> None:
    turn = await say(profile, 'AGENT_PARTIAL:"a"', "body 1", 'AGENT_PARTIAL:"b"', "body 2")
    assert turn.delivered == ["a", "b"]
    assert turn.result.reply == "body 1\nbody 2"


async def test_an_empty_body_with_exit_0_is_a_successful_turn(profile: Profile) -> None:
    turn = await say(profile, 'AGENT_PARTIAL:"everything"')
    assert (turn.result.ok, turn.result.reply, turn.result.error) == (True, "", None)


# -- AGENT_ERROR -----------------------------------------------------------------------------


async def test_an_error_line_fails_the_turn_even_when_the_process_exits_0(
    profile: Profile,
) -> None:
    turn = await say(profile, 'AGENT_ERROR:"rate limited; retry in 60s"')
    assert turn.result.error == "rate limited; retry in 60s"
    assert turn.result.exit_code == 1
    assert not turn.result.ok


async def test_after_an_error_later_partials_and_the_whole_body_are_discarded(
    profile: Profile,
) -> None:
    turn = await say(
        profile,
        "body before",
        'AGENT_PARTIAL:"before"',
        'AGENT_ERROR:"boom"',
        'AGENT_PARTIAL:"after"',
        "body after",
        'AGENT_ERROR:"second error"',
    )
    assert turn.delivered == ["before"]
    assert turn.result.partials == ("before",)
    assert turn.result.reply == ""
    assert turn.result.error == "boom"


async def test_the_session_of_a_failed_turn_is_still_kept(profile: Profile) -> None:
    turn = await say(profile, "AGENT_SESSION:s-1", 'AGENT_ERROR:"x"', "AGENT_SESSION:s-2")
    assert (turn.result.session_id, turn.result.exit_code) == ("s-2", 1)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [('"quoted"', "quoted"), ("", ""), ("raw text", "raw text"), ("7", "7")],
)
async def test_error_payloads_decode_like_partials(
    profile: Profile, payload: str, expected: str
) -> None:
    assert (await say(profile, f"AGENT_ERROR:{payload}")).result.error == expected


async def test_error_lines_count_when_streaming_is_off(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"), streaming=False)
    turn = await say(profile, 'AGENT_PARTIAL:"ignored"', 'AGENT_ERROR:"honoured"')
    assert (turn.result.error, turn.delivered) == ("honoured", [])


# -- prefixes --------------------------------------------------------------------------------


async def test_prefixes_are_checked_at_the_start_of_the_line_only(profile: Profile) -> None:
    turn = await say(profile, 'say AGENT_ERROR:"x"', "agent_partial:lower", "AGENT_SESSION")
    assert turn.result.ok
    assert turn.result.reply == 'say AGENT_ERROR:"x"\nagent_partial:lower\nAGENT_SESSION'


async def test_body_lines_reach_the_user_exactly_as_sent_leading_spaces_included(
    profile: Profile,
) -> None:
    turn = await say(profile, " AGENT_ERROR:not an error", "  AGENT_PARTIAL:two spaces", " text")
    assert turn.result.ok
    assert turn.result.reply == " AGENT_ERROR:not an error\n  AGENT_PARTIAL:two spaces\n text"


async def test_a_reply_that_starts_with_indented_code_keeps_its_indent(profile: Profile) -> None:
    turn = await say(profile, "    def f():", "        return 1")
    assert turn.result.reply == "    def f():\n        return 1"


async def test_the_body_keeps_its_lines_and_inner_blank_lines(profile: Profile) -> None:
    turn = await say(profile, "one", "", "  indented", "last")
    assert turn.result.reply == "one\n\n  indented\nlast"


async def test_bytes_that_are_not_utf8_are_replaced_not_fatal(tmp_path: Path) -> None:
    script = tmp_path / "latin1.sh"
    script.write_bytes(b"#!/bin/sh\nprintf 'caf\\351\\n'\n")
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script))
    assert (await run(profile)).result.reply == "caf\ufffd"


async def test_a_last_line_without_newline_is_still_read(tmp_path: Path) -> None:
    script = tmp_path / "no_newline.sh"
    script.write_text("#!/bin/sh\nprintf 'AGENT_SESSION:s9\\nno newline'\n")
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script))
    result = (await run(profile)).result
    assert (result.session_id, result.reply) == ("s9", "no newline")


# -- exit codes and precedence ---------------------------------------------------------------


async def test_the_process_exit_code_is_the_turns_when_nothing_else_failed(
    tmp_path: Path,
) -> None:
    result = (await run(failing(tmp_path, 7), "out")).result
    assert (result.exit_code, result.timed_out) == (7, False)


async def test_an_error_line_takes_precedence_over_the_exit_code(tmp_path: Path) -> None:
    result = (await run(failing(tmp_path, 7), 'AGENT_ERROR:"why"')).result
    assert (result.exit_code, result.error) == (1, "why")


async def test_a_timeout_takes_precedence_over_an_error_line(tmp_path: Path) -> None:
    script = tmp_path / "error_then_hang.sh"
    script.write_text("#!/bin/sh\necho 'AGENT_ERROR:\"first\"'\nexec sleep 60\n")
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script), timeout_secs=0.5, kill_grace_secs=1)
    result = (await run(profile)).result
    assert (result.exit_code, result.timed_out) == (124, True)
    assert result.error == "the agent did not finish within 0.5 s"


async def test_a_process_killed_by_a_signal_reports_128_plus_the_signal(tmp_path: Path) -> None:
    script = tmp_path / "killed.sh"
    script.write_text("#!/bin/sh\necho partial answer\nkill -9 $$\n")
    script.chmod(0o755)
    result = (await run(make_profile(tmp_path, command=str(script)))).result
    assert (result.exit_code, result.error) == (137, "the agent was killed by SIGKILL")
