"""What a wire-0.4 agent receives: the stdin turn, its argv, cwd and environment, and which
profile keys decide them (the contract's turn and profile tables)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from agentproc import Attachment
from agentproc.bridge import Profile, ProfileError, load_profile, run_turn
from agentproc.bridge._launch import INFRA_VARIABLES

from .support import PYTHON, agent, events_agent, make_profile, run, write_profile


async def recorded(
    tmp_path: Path,
    profile: Profile,
    message: str = "@record",
    environ: dict[str, str] | None = None,
    **turn: Any,
) -> dict[str, Any]:
    record = tmp_path / "record.json"
    bridge_env = {"PATH": os.environ["PATH"], "EVENTS_RECORD": str(record), **(environ or {})}
    profile_env = {"EVENTS_RECORD": str(record), **profile.env}
    profile = Profile(**{**_fields(profile), "env": profile_env})
    done = await run(profile, message, environ=bridge_env, **turn)
    assert done.result.ok, done.result
    result: dict[str, Any] = json.loads(record.read_text())
    return result


def _fields(profile: Profile) -> dict[str, Any]:
    import attrs

    return attrs.asdict(profile, recurse=False)


# -- the turn line ---------------------------------------------------------------------------


async def test_the_turn_is_one_json_object_with_the_required_fields(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, **events_agent())
    seen = await recorded(tmp_path, profile, session_id="prev 1:x", session_name="work")
    assert seen["turn"] == {
        "type": "turn",
        "message": "@record",
        "session_id": "prev 1:x",
        "session_name": "work",
        "protocol_version": "0.4",
    }


async def test_attachments_travel_as_kind_and_url_only_when_there_are_some(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, **events_agent())
    seen = await recorded(
        tmp_path,
        profile,
        image_url="https://x.test/i.png",
        attachments=[Attachment(type="audio", url="https://x.test/a.ogg", name="a.ogg")],
    )
    assert seen["turn"]["attachments"] == [
        {"kind": "image", "url": "https://x.test/i.png"},
        {"kind": "audio", "url": "https://x.test/a.ogg", "name": "a.ogg"},
    ]


async def test_stdin_ends_right_after_the_turn_without_permission(tmp_path: Path) -> None:
    turn = await run(make_profile(tmp_path, **events_agent()), "@stdin?")
    assert turn.delivered == ["eof"]


async def test_stdin_stays_open_with_permission_and_the_turn_says_so(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, **events_agent(permission=True))
    turn = await run(profile, "@stdin?")
    assert turn.delivered == ["open"]
    seen = await recorded(tmp_path, profile)
    assert seen["turn"]["permission"] is True


async def test_an_agent_that_never_reads_stdin_is_fine(tmp_path: Path) -> None:
    # The turn line may meet a closed pipe (EPIPE): the bridge ignores it.
    profile = make_profile(tmp_path, wire="0.4", command="/bin/sh", args=["-c", "exec 0<&-"])
    turn = await run(profile, "x" * 200_000)
    assert (turn.result.ok, turn.result.reply, turn.warnings) == (True, "", [])


async def test_an_empty_turn_is_refused_without_starting_the_agent(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    profile = make_profile(tmp_path, wire="0.4", command="/bin/sh", args=["-c", f"touch {marker}"])
    result = (await run(profile, "")).result
    assert (result.exit_code, result.error) == (
        1,
        "turn.message is required (or include turn.attachments)",
    )
    assert not marker.exists()


# -- the child's environment -----------------------------------------------------------------


async def test_the_child_gets_infra_variables_profile_env_and_nothing_else(
    tmp_path: Path,
) -> None:
    profile = make_profile(
        tmp_path,
        **events_agent(env={"DECLARED": "${ALLOWED}", "BLOCKED": "${SECRET}", "LIT": "v"}),
        env_allowlist=["ALLOWED"],
    )
    bridge = {
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "ALLOWED": "ok",
        "SECRET": "top",
        "AGENT_MESSAGE": "leak",
        "RANDOM_VAR": "leak",
    }
    # ${VAR} is expanded when the profile is loaded, against the bridge's environment.
    profile = load_profile(tmp_path / "profile.yaml", environ=bridge, warn=lambda _: None)
    env = (await recorded(tmp_path, profile, environ=bridge))["env"]
    env.pop("AGENTPROC_LIFELINE")  # our tie to the bridge's life (see README)
    assert env == {
        "PATH": os.environ["PATH"],
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "DECLARED": "ok",
        "BLOCKED": "",
        "LIT": "v",
        "EVENTS_RECORD": str(tmp_path / "record.json"),
    }
    assert set(INFRA_VARIABLES) >= {"PATH", "HOME", "LANG", "TZ", "TMPDIR", "PWD"}


def test_a_variable_outside_the_allowlist_is_warned_about(tmp_path: Path) -> None:
    warnings: list[str] = []
    make_profile(
        tmp_path,
        warnings,
        **events_agent(env={"BLOCKED": "${SECRET}"}),
        env_allowlist=["OTHER"],
    )
    assert any("SECRET" in warning and "env_allowlist" in warning for warning in warnings)


# -- argv, placeholders and cwd -------------------------------------------------------------


async def test_command_is_never_split_and_args_are_verbatim(tmp_path: Path) -> None:
    spaced = tmp_path / "dir with space"
    spaced.mkdir()
    link = spaced / "python agent"
    link.symlink_to(PYTHON)
    profile = make_profile(
        tmp_path,
        wire="0.4",
        command=f"  {link}  ",
        args=[agent("events.py"), "two words", "{{SESSION_ID}}", "{{SESSION_NAME}}", "{{MESSAGE}}"],
    )
    seen = await recorded(tmp_path, profile, session_id="s 1", session_name="chat")
    assert seen["argv"][1:] == ["two words", "s 1", "chat", "{{MESSAGE}}"]


async def test_placeholders_reach_env_and_profile_dir_is_absolute(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path, **events_agent(env={"WHERE": "{{PROFILE_DIR}}", "WHO": "{{SESSION_NAME}}"})
    )
    env = (await recorded(tmp_path, profile, session_name="n1"))["env"]
    assert (env["WHERE"], env["WHO"]) == (str(tmp_path.resolve()), "n1")


async def test_a_relative_cwd_is_the_profiles_folder_and_home_is_expanded(
    tmp_path: Path,
) -> None:
    (tmp_path / "work").mkdir()
    profile = make_profile(tmp_path, **events_agent(cwd="work"))
    assert (await recorded(tmp_path, profile))["cwd"] == str((tmp_path / "work").resolve())
    home = make_profile(tmp_path / "h", **events_agent(cwd="~"))
    assert (await recorded(tmp_path, home))["cwd"] == str(Path.home())


# -- profile keys ----------------------------------------------------------------------------


def load(tmp_path: Path, text: str, warnings: list[str] | None = None) -> Profile:
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    sink = warnings if warnings is not None else []
    return load_profile(path, warn=sink.append)


def test_a_hub_profile_speaks_04_and_a_plain_one_01(tmp_path: Path) -> None:
    hub = load(tmp_path, "name: x\nagentproc:\n  command: python3\n  args: [bridge.py]\n")
    plain = load(tmp_path, "command: python3 bridge.py\n")
    assert (hub.wire, hub.command, hub.args) == ("0.4", "python3", ("bridge.py",))
    assert (plain.wire, plain.args) == ("0.1", None)


def test_the_wire_key_chooses_and_a_bare_number_is_refused(tmp_path: Path) -> None:
    assert load(tmp_path, "command: x\nwire: '0.4'\n").wire == "0.4"
    assert load(tmp_path, "agentproc:\n  command: x\n  wire: '0.1'\n").wire == "0.1"
    with pytest.raises(ProfileError, match=r"wire must be a string, got a number \(0.4\); quote"):
        load(tmp_path, "command: x\nwire: 0.4\n")
    with pytest.raises(ProfileError, match=r"wire must be '0\.1' or '0\.4'"):
        load(tmp_path, "command: x\nwire: '0.3'\n")


def test_defaults_of_a_04_profile(tmp_path: Path) -> None:
    profile = load(tmp_path, "agentproc:\n  command: ./agent\n")
    assert (profile.args, profile.cwd, profile.env, profile.env_allowlist) == ((), None, {}, None)
    assert (profile.timeout_secs, profile.kill_grace_secs, profile.streaming) == (1800, 5, True)
    assert (profile.permission, profile.executor) == (False, None)


def test_keys_removed_in_04_are_ignored_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    profile = load(
        tmp_path,
        "wire: '0.4'\ncommand: x\nstdin: message\nmax_reply_chars: 5\nenv_inherit: all\n"
        "include_stderr_in_reply: true\nsend_error_reply: false\ntruncation_suffix: '!'\n",
        warnings,
    )
    assert (profile.stdin, profile.max_reply_chars) == ("none", 8000)
    assert len(warnings) == 6
    assert all("removed in wire 0.4" in warning for warning in warnings)


def test_only_true_enables_permission_and_only_false_disables_streaming(tmp_path: Path) -> None:
    profile = load(tmp_path, "wire: '0.4'\ncommand: x\npermission: true\nstreaming: false\n")
    assert (profile.permission, profile.streaming) == (True, False)
    with pytest.raises(ProfileError, match="permission must be true or false"):
        load(tmp_path, "wire: '0.4'\ncommand: x\npermission: 'yes'\n")


def test_a_timeout_of_zero_or_less_means_no_limit(tmp_path: Path) -> None:
    assert load(tmp_path, "wire: '0.4'\ncommand: x\ntimeout_secs: 0\n").timeout_secs == math.inf
    assert load(tmp_path, "wire: '0.4'\ncommand: x\ntimeout_secs: -1\n").timeout_secs == math.inf


def test_args_that_are_not_a_list_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="args must be a list of strings"):
        load(tmp_path, "wire: '0.4'\ncommand: x\nargs: --flag\n")


def test_an_unknown_executor_with_a_command_runs_the_command_with_a_warning(
    tmp_path: Path,
) -> None:
    warnings: list[str] = []
    profile = load(tmp_path, "agentproc:\n  executor: claude-code\n  command: x\n", warnings)
    assert profile.command == "x"
    assert "executor 'claude-code' is not built into this bridge" in warnings[0]


def test_an_executor_without_a_command_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="executor 'claude-code' is not built into"):
        load(tmp_path, "agentproc:\n  executor: claude-code\n")


def test_a_04_key_in_a_01_profile_is_ignored_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    profile = load(tmp_path, "command: x\npermission: true\n", warnings)
    assert profile.permission is False
    assert "wire-0.4 key" in warnings[0]


async def test_a_01_profile_run_as_04_by_the_caller(tmp_path: Path) -> None:
    path = write_profile(tmp_path, {"command": PYTHON, "args": [agent("events.py")]})
    profile = load_profile(path, wire="0.4")
    turn = await run_turn(profile, _turn('{"type": "result", "text": "ok"}'))
    assert (turn.reply, turn.wire) == ("ok", "0.4")


def _turn(message: str) -> Any:
    from agentproc.bridge import TurnInput

    return TurnInput(message=message)
