"""Each row of the spec's profile table, as the agent process sees it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import pytest

from agentproc.bridge import LaunchError, TurnInput, run_turn

from .support import PYTHON, Turn, agent, make_profile, python_agent, run, wire


def report(turn: Turn) -> dict[str, Any]:
    assert turn.result.ok, turn.result
    parsed: dict[str, Any] = json.loads(turn.result.reply)
    return parsed


# -- command and args ------------------------------------------------------------------------


async def test_a_command_without_args_is_split_on_whitespace(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=f"{PYTHON}  {agent('report.py')}\tone   two")
    assert report(await run(profile))["argv"] == ["one", "two"]


async def test_args_are_passed_verbatim_and_the_command_is_never_split(tmp_path: Path) -> None:
    folder = tmp_path / "my agent"
    folder.mkdir()
    script = folder / "run agent.sh"
    script.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{agent("report.py")}" "$@"\n')
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script), args=["two words", "", "  x  "])
    assert report(await run(profile))["argv"] == ["two words", "", "  x  "]


async def test_empty_args_still_mean_the_command_is_one_token(tmp_path: Path) -> None:
    script = tmp_path / "with space.sh"
    script.write_text("#!/bin/sh\necho ran with $# arguments\n")
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script), args=[])
    assert (await run(profile)).result.reply == "ran with 0 arguments"


async def test_placeholders_are_substituted_in_each_token_after_the_split(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path,
        command=f"{PYTHON} {agent('report.py')} {{{{MESSAGE}}}} id={{{{SESSION_ID}}}}",
    )
    turn = await run(profile, "two words ${HOME} {{PROFILE_DIR}}", session_id="s-1")
    assert report(turn)["argv"] == ["two words ${HOME} {{PROFILE_DIR}}", "id=s-1"]


async def test_every_placeholder_in_args(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path,
        **python_agent(
            "report.py", "{{MESSAGE}}", "{{SESSION_ID}}", "{{SESSION_NAME}}", "{{PROFILE_DIR}}"
        ),
    )
    turn = await run(profile, "hi", session_id="abc", session_name="work")
    assert report(turn)["argv"] == ["hi", "abc", "work", str(tmp_path.resolve())]


async def test_a_command_that_does_not_exist_cannot_be_launched(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command="no-such-agent-here --flag")
    with pytest.raises(LaunchError, match="no-such-agent-here: command not found") as raised:
        await run(profile)
    assert raised.value.exit_code == 127


async def test_a_command_that_is_not_executable_cannot_be_launched(tmp_path: Path) -> None:
    script = tmp_path / "agent.sh"
    script.write_text("echo hi\n")
    profile = make_profile(tmp_path, command=str(script))
    with pytest.raises(LaunchError, match="permission denied") as raised:
        await run(profile)
    assert raised.value.exit_code == 126


# -- stdin -----------------------------------------------------------------------------------


async def test_stdin_none_gives_the_agent_an_empty_stdin(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=agent("stdin.sh"))
    assert (await run(profile, "hello")).result.reply == "stdin: "


async def test_stdin_message_writes_the_message_then_eof(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=agent("stdin.sh"), stdin="message")
    message = "line one\nline two ünïcode"
    assert (await run(profile, message)).result.reply == f"stdin: {message}"


async def test_a_large_stdin_message_that_the_agent_does_not_read_does_not_block(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, command=agent("echo.sh"), stdin="message")
    turn = await run(profile, "")
    big = await run_turn(profile, TurnInput(message="x" * 100_000), warn=lambda _: None)
    assert turn.result.ok
    assert big.ok


# -- cwd -------------------------------------------------------------------------------------


async def test_cwd_defaults_to_the_bridges_own(tmp_path: Path) -> None:
    profile = make_profile(tmp_path / "p", **python_agent("report.py"))
    assert report(await run(profile))["cwd"] == os.getcwd()


async def test_a_relative_cwd_resolves_against_the_profiles_folder(tmp_path: Path) -> None:
    (tmp_path / "p" / "work").mkdir(parents=True)
    profile = make_profile(tmp_path / "p", cwd="work", **python_agent("report.py"))
    assert report(await run(profile))["cwd"] == str((tmp_path / "p" / "work").resolve())


async def test_an_absolute_cwd_and_placeholders_in_cwd(tmp_path: Path) -> None:
    (tmp_path / "sessions" / "s-7").mkdir(parents=True)
    profile = make_profile(
        tmp_path / "p",
        cwd=str(tmp_path / "sessions" / "{{SESSION_ID}}"),
        **python_agent("report.py"),
    )
    assert report(await run(profile, session_id="s-7"))["cwd"] == str(tmp_path / "sessions/s-7")


async def test_a_relative_command_runs_from_the_cwd(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "agent.sh").write_text("#!/bin/sh\necho from $(basename $(pwd))\n")
    (folder / "agent.sh").chmod(0o755)
    profile = make_profile(folder, command="./agent.sh", cwd=".")
    assert (await run(profile)).result.reply == "from p"


async def test_a_cwd_that_is_not_a_directory_cannot_be_launched(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, cwd="missing", **python_agent("report.py"))
    with pytest.raises(LaunchError, match=r"profile\.yaml: cwd .*missing is not a directory"):
        await run(profile)


# -- env and env_allowlist -------------------------------------------------------------------


async def test_env_reaches_the_agent_with_variables_and_placeholders_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_BRIDGE_TOKEN", "tok-1")
    monkeypatch.delenv("TEST_BRIDGE_UNSET", raising=False)
    profile = make_profile(
        tmp_path,
        env={
            "TEST_TOKEN": "${TEST_BRIDGE_TOKEN}",
            "TEST_UNSET": "[${TEST_BRIDGE_UNSET}]",
            "TEST_SESSION": "{{SESSION_NAME}}/{{SESSION_ID}}",
        },
        **python_agent("report.py"),
    )
    env = report(await run(profile, session_id="s1", session_name="chat"))["env"]
    assert env["TEST_TOKEN"] == "tok-1"
    assert env["TEST_UNSET"] == "[]"
    assert env["TEST_SESSION"] == "chat/s1"
    assert env["TEST_BRIDGE_TOKEN"] == "tok-1"  # the bridge's environment is inherited


async def test_env_allowlist_keeps_unlisted_variables_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ALLOWED", "yes")
    monkeypatch.setenv("TEST_SECRET", "s3cr3t")
    warnings: list[str] = []
    profile = make_profile(
        tmp_path,
        warnings,
        env={"TEST_OK": "${TEST_ALLOWED}", "TEST_NO": "${TEST_SECRET}"},
        env_allowlist=["TEST_ALLOWED"],
        **python_agent("report.py"),
    )
    env = report(await run(profile, environ={"PATH": os.environ["PATH"]}))["env"]
    assert env == {**env, "TEST_OK": "yes", "TEST_NO": ""}
    assert "TEST_SECRET" not in env
    assert warnings == [
        f"{tmp_path / 'profile.yaml'}: env TEST_NO: ${{TEST_SECRET}} is not in env_allowlist; "
        "it expands to an empty string"
    ]


async def test_the_protocol_variables_are_the_turns_and_win_over_env_and_the_bridges(
    tmp_path: Path,
) -> None:
    profile = make_profile(
        tmp_path,
        env={"AGENT_MESSAGE": "from the profile", "TEST_X": "1"},
        **python_agent("report.py"),
    )
    stale = {"AGENT_ATTACHMENTS": '[{"type": "image", "url": "stale"}]', "PATH": "/usr/bin:/bin"}
    turn = await run(profile, "hi", environ=stale, session_id="s", from_user="u-1")
    assert report(turn)["env"] == {
        "AGENT_MESSAGE": "hi",
        "AGENT_SESSION_ID": "s",
        "AGENT_SESSION_NAME": "default",
        "AGENT_FROM_USER": "u-1",
        "AGENT_STREAMING": "1",
        "AGENT_PROTOCOL_VERSION": "0.1",
        "AGENT_IMAGE_URL": "",
        "AGENT_FILE_URL": "",
        "TEST_X": "1",
    }


async def test_attachments_travel_as_json(tmp_path: Path) -> None:
    from agentproc import Attachment

    profile = make_profile(tmp_path, **python_agent("report.py"))
    turn = await run(
        profile,
        image_url="https://x/i.png",
        attachments=[Attachment(type="image", url="https://x/i.png", name="i.png")],
    )
    env = report(turn)["env"]
    assert env["AGENT_IMAGE_URL"] == "https://x/i.png"
    assert json.loads(env["AGENT_ATTACHMENTS"]) == [
        {"type": "image", "url": "https://x/i.png", "name": "i.png"}
    ]


async def test_an_invalid_session_id_is_not_passed_to_the_agent(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, **python_agent("report.py"))
    with pytest.raises(LaunchError, match=r"session id '\.\./x y' cannot be passed"):
        await run(profile, session_id="../x y")


# -- timeout_secs and kill_grace_secs ---------------------------------------------------------


async def test_timeout_secs_ends_the_turn_with_124_and_partials_stay_delivered(
    tmp_path: Path,
) -> None:
    # Long enough for a Python start on a loaded machine: the partial must arrive first.
    profile = make_profile(tmp_path, timeout_secs=4, **python_agent("sleeps.py"))
    turn = await run(profile)
    assert turn.result.timed_out
    assert turn.result.exit_code == 124
    assert turn.result.partials == ("working on it",) == tuple(turn.delivered)
    assert turn.result.error == "the agent did not finish within 4 s"
    assert turn.result.reply == ""


async def test_kill_grace_secs_is_how_long_an_agent_ignoring_sigterm_survives(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    profile = make_profile(
        tmp_path,
        command=agent("ignores_sigterm.sh"),
        timeout_secs=0.5,
        kill_grace_secs=1.5,
        env={"PID_FILE": str(pid_file)},
    )
    turn = await run(profile)
    assert turn.result.timed_out
    assert turn.result.exit_code == 124
    assert turn.delivered == ["still thinking"]
    # SIGTERM came at 0.5 s and was ignored; only SIGKILL, a grace later, ended it.
    assert turn.result.duration_secs >= 0.5 + 1.5
    assert turn.result.duration_secs < 30


async def test_an_agent_that_obeys_sigterm_ends_the_turn_without_waiting_the_grace(
    tmp_path: Path,
) -> None:
    profile = make_profile(
        tmp_path, timeout_secs=0.5, kill_grace_secs=60, **python_agent("sleeps.py")
    )
    turn = await run(profile)
    assert turn.result.timed_out
    assert turn.result.duration_secs < 30


# -- max_reply_chars and truncation_suffix -----------------------------------------------------


async def test_a_reply_longer_than_max_reply_chars_is_cut_and_the_suffix_added(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"), max_reply_chars=10)
    assert (await run(profile, "0123456789ABC")).result.reply == "0123456789\n\n…(truncated)"
    assert (await run(profile, "0123456789")).result.reply == "0123456789"


async def test_truncation_suffix_is_configurable(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path, command=agent("wire.sh"), max_reply_chars=3, truncation_suffix=" [more]"
    )
    assert (await run(profile, wire("abc", "def"))).result.reply == "abc [more]"


async def test_a_huge_reply_is_truncated_without_holding_it_all(tmp_path: Path) -> None:
    script = tmp_path / "flood.sh"
    script.write_text("#!/bin/sh\nyes 'a line of reply text' | head -n 400000\n")
    script.chmod(0o755)
    profile = make_profile(tmp_path, command=str(script), max_reply_chars=30)
    turn = await run(profile)
    assert turn.result.reply == "a line of reply text\na line of\n\n…(truncated)"


# -- include_stderr_in_reply and send_error_reply ---------------------------------------------


async def test_stderr_stays_out_of_the_reply_by_default_but_is_kept_as_a_tail(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"))
    turn = await run(profile, "hello")
    assert turn.result.reply == "hello"
    assert turn.result.stderr_tail == "wire.sh wrote 1 lines\n"
    assert turn.stderr_lines == ["wire.sh wrote 1 lines"]


async def test_include_stderr_in_reply_appends_it_after_a_blank_line(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"), include_stderr_in_reply=True)
    assert (await run(profile, "hello")).result.reply == "hello\n\nwire.sh wrote 1 lines"


async def test_send_error_reply_tells_the_user_about_a_failure_without_agent_error(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"), env={"WIRE_EXIT": "3"})
    result = (await run(profile, "partial answer")).result
    assert (result.exit_code, result.error) == (3, "the agent failed (exit status 3)")
    assert result.reply == "partial answer"
    assert not result.ok


async def test_without_send_error_reply_a_failure_has_no_error_text(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path, command=agent("wire.sh"), env={"WIRE_EXIT": "3"}, send_error_reply=False
    )
    result = (await run(profile, "x")).result
    assert (result.exit_code, result.error, result.ok) == (3, None, False)


# -- streaming -------------------------------------------------------------------------------


async def test_streaming_false_sets_agent_streaming_0_and_ignores_partials(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"), streaming=False)
    turn = await run(profile, wire('AGENT_PARTIAL:"chunk"', "body"))
    assert turn.delivered == []
    assert turn.result.partials == ()
    assert turn.result.reply == "body"
    env_profile = make_profile(tmp_path / "r", streaming=False, **python_agent("report.py"))
    assert report(await run(env_profile))["env"]["AGENT_STREAMING"] == "0"


async def test_streaming_true_forwards_partials_live(tmp_path: Path) -> None:
    signal_file = tmp_path / "delivered"
    profile = make_profile(
        tmp_path, env={"SIGNAL_FILE": str(signal_file)}, **python_agent("waits_for_bridge.py")
    )
    delivered: list[str] = []

    def on_partial(text: str) -> None:
        delivered.append(text)
        signal_file.touch()  # the agent finishes only once it sees this

    result = await run_turn(profile, on_partial=on_partial, warn=lambda _: None)
    assert delivered == ["first"]
    assert (result.exit_code, result.reply) == (0, "finished after the partial was delivered")


async def test_an_async_on_partial_is_awaited(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"))
    seen: list[str] = []

    async def on_partial(text: str) -> None:
        seen.append(text)

    await run_turn(
        profile,
        TurnInput(message=wire('AGENT_PARTIAL:"a"', 'AGENT_PARTIAL:"b"')),
        on_partial=on_partial,
    )
    assert seen == ["a", "b"]


def test_turn_input_defaults_match_the_spec() -> None:
    assert attrs.asdict(TurnInput()) == {
        "message": "",
        "session_id": "",
        "session_name": "default",
        "from_user": "",
        "image_url": "",
        "file_url": "",
        "attachments": (),
    }
