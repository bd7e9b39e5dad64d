"""Profile YAML -> Profile: the spec's defaults, refused types, warned keys, ${VAR} expansion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from agentproc.bridge import PROFILE_KEYS, Profile, ProfileError, load_profile, parse_profile

from .support import write_profile


def load(tmp_path: Path, text: str, **kwargs: Any) -> Profile:
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    return load_profile(path, **kwargs)


def test_a_profile_with_only_a_command_has_every_default_of_the_spec_table(
    tmp_path: Path,
) -> None:
    profile = load(tmp_path, "command: python3 ./agent.py\n")
    assert profile == Profile(
        command="python3 ./agent.py",
        args=None,
        stdin="none",
        cwd=None,
        env={},
        env_allowlist=None,
        timeout_secs=1800,
        kill_grace_secs=5,
        max_reply_chars=8000,
        truncation_suffix="\n\n…(truncated)",
        include_stderr_in_reply=False,
        send_error_reply=True,
        streaming=True,
        profile_dir=tmp_path.resolve(),
        source=str(tmp_path / "profile.yaml"),
    )


def test_the_known_keys_are_exactly_the_rows_of_the_spec_table() -> None:
    assert PROFILE_KEYS == (
        "command",
        "args",
        "stdin",
        "cwd",
        "env",
        "env_allowlist",
        "timeout_secs",
        "kill_grace_secs",
        "max_reply_chars",
        "truncation_suffix",
        "include_stderr_in_reply",
        "send_error_reply",
        "streaming",
    )


def test_every_key_is_read_from_the_yaml(tmp_path: Path) -> None:
    profile = load(
        tmp_path,
        """
command: ./agent
args: ["--flag", "two words"]
stdin: message
cwd: work
env: {MODEL: small}
env_allowlist: [HOME]
timeout_secs: 60
kill_grace_secs: 0.5
max_reply_chars: 100
truncation_suffix: " [cut]"
include_stderr_in_reply: true
send_error_reply: false
streaming: false
""",
    )
    assert attrs.asdict(profile, recurse=False) | {"profile_dir": None, "source": None} == {
        "command": "./agent",
        "args": ("--flag", "two words"),
        "stdin": "message",
        "cwd": "work",
        "env": {"MODEL": "small"},
        "env_allowlist": ("HOME",),
        "timeout_secs": 60.0,
        "kill_grace_secs": 0.5,
        "max_reply_chars": 100,
        "truncation_suffix": " [cut]",
        "include_stderr_in_reply": True,
        "send_error_reply": False,
        "streaming": False,
        "wire": "0.1",
        "permission": False,
        "allow_tools": None,
        "executor": None,
        "profile_dir": None,
        "source": None,
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("command: 5", "command must be a string, got a number (5); quote it"),
        ("command: [python3, agent.py]", "command must be a string, got a list"),
        ("args: --verbose", "args must be a list of strings, got a string ('--verbose')"),
        ("args: [1]", "args item 0 must be a string, got a number (1); quote it"),
        ("stdin: yes", "stdin must be a string, got a boolean (True)"),
        ("stdin: file", "stdin must be 'none' or 'message', got 'file'"),
        ("cwd: [a]", "cwd must be a string, got a list"),
        ("env: [A=1]", "env must be a mapping of NAME: value, got a list"),
        ("env: {PORT: 8080}", "env PORT must be a string, got a number (8080); quote it"),
        ("env_allowlist: HOME", "env_allowlist must be a list of strings, got a string"),
        ("timeout_secs: soon", "timeout_secs must be a number of seconds, got a string ('soon')"),
        ("timeout_secs: true", "timeout_secs must be a number of seconds, got a boolean"),
        ("timeout_secs: 0", "timeout_secs must be greater than 0, got 0.0"),
        ("timeout_secs:", "timeout_secs must be a number of seconds, got nothing (null)"),
        ("kill_grace_secs: -1", "kill_grace_secs must be 0 or more, got -1.0"),
        ("max_reply_chars: 10.5", "max_reply_chars must be a whole number, got a number (10.5)"),
        ("max_reply_chars: 0", "max_reply_chars must be greater than 0, got 0"),
        ("truncation_suffix: 3", "truncation_suffix must be a string, got a number (3)"),
        ("include_stderr_in_reply: 'no'", "include_stderr_in_reply must be true or false"),
        ("send_error_reply: 1", "send_error_reply must be true or false, got a number (1)"),
        ("streaming: 'off'", "streaming must be true or false, got a string ('off')"),
    ],
)
def test_a_wrong_type_or_value_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, line: str, expected: str
) -> None:
    text = line + "\n" if line.startswith("command") else f"command: ./agent\n{line}\n"
    with pytest.raises(ProfileError) as raised:
        load(tmp_path, text)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'profile.yaml'}: "), message
    assert expected in message


def test_every_problem_of_a_profile_is_listed_at_once(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as raised:
        load(tmp_path, "command: ./agent\ntimeout_secs: x\nstreaming: 2\n")
    assert "timeout_secs must be" in str(raised.value)
    assert "streaming must be" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the profile is empty; it needs at least `command:`"),
        ("- command: x\n", "a profile is a mapping of keys"),
        ("timeout_secs: 5\n", "`command:` is missing"),
        ("command: '   '\n", "command must name the executable to start; it is empty"),
        ("command: [unclosed\n", "not valid YAML at line 2, column 1"),
    ],
)
def test_a_profile_that_is_not_one_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ProfileError, match=re.escape(expected)):
        load(tmp_path, text)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nothere\.yaml: cannot read the profile"):
        load_profile(tmp_path / "nothere.yaml")


def test_unknown_keys_are_warned_about_and_ignored(tmp_path: Path) -> None:
    warnings: list[str] = []
    profile = load(
        tmp_path, "command: ./agent\ntimeout_sec: 5\nflavour: mild\n", warn=warnings.append
    )
    assert profile.timeout_secs == 1800
    source = tmp_path / "profile.yaml"
    assert warnings == [
        f"{source}: unknown key 'timeout_sec' ignored; did you mean 'timeout_secs'?",
        f"{source}: unknown key 'flavour' ignored",
    ]


def test_a_hub_profile_is_read_from_its_agentproc_section(tmp_path: Path) -> None:
    warnings: list[str] = []
    profile = load(
        tmp_path,
        "name: echo-agent\ndescription: x\nagentproc:\n"
        "  command: python3 {{PROFILE_DIR}}/bridge.py\n  timeout_secs: 10\n  streaming: false\n",
        warn=warnings.append,
    )
    assert (profile.command, profile.timeout_secs, profile.streaming) == (
        "python3 {{PROFILE_DIR}}/bridge.py",
        10,
        False,
    )
    assert warnings == []


def test_env_expands_variables_of_the_bridge_and_unknown_ones_to_empty(tmp_path: Path) -> None:
    profile = parse_profile(
        {"command": "x", "env": {"KEY": "${API_KEY}", "URL": "https://${HOST}/v1${MISSING}"}},
        environ={"API_KEY": "k-123", "HOST": "example.test"},
    )
    assert profile.env == {"KEY": "k-123", "URL": "https://example.test/v1"}


def test_env_allowlist_blanks_unlisted_variables_with_a_warning_that_shows_no_value(
    tmp_path: Path,
) -> None:
    warnings: list[str] = []
    profile = parse_profile(
        {
            "command": "x",
            "env": {"KEY": "${API_KEY}", "LEAK": "${SECRET}"},
            "env_allowlist": ["API_KEY"],
        },
        environ={"API_KEY": "k-123", "SECRET": "hunter2"},
        source="p.yaml",
        warn=warnings.append,
    )
    assert profile.env == {"KEY": "k-123", "LEAK": ""}
    assert warnings == [
        "p.yaml: env LEAK: ${SECRET} is not in env_allowlist; it expands to an empty string"
    ]
    assert not any("hunter2" in warning for warning in warnings)


def test_placeholders_are_kept_for_each_turn_and_dollar_forms_without_braces_stay(
    tmp_path: Path,
) -> None:
    profile = parse_profile(
        {"command": "x", "env": {"A": "{{MESSAGE}}", "B": "$HOME", "C": "{{UNKNOWN}}"}},
        environ={"HOME": "/home/u"},
    )
    assert profile.env == {"A": "{{MESSAGE}}", "B": "$HOME", "C": "{{UNKNOWN}}"}


def test_profile_dir_is_the_folder_of_the_yaml_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path / "agents" / "echo", {"command": "./agent.sh"})
    assert load_profile(path).profile_dir == path.parent.resolve()


def test_a_profile_made_in_code_is_checked_too() -> None:
    profile = Profile(command="./agent")
    with pytest.raises(ValueError, match="timeout_secs must be greater than 0"):
        attrs.evolve(profile, timeout_secs=0)
    assert Profile(command="x", args=["a"]).args == ("a",)
