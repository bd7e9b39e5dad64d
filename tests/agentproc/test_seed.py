"""Every code block of the seed runs unchanged, checked by what a bridge sees.

Each Python block becomes ``agent.py`` (after the stub LLM helpers) and runs as a real
process, ``python agent.py`` with ``AGENT_*`` variables; the assertions are the exact stdout
lines and the exit status. The YAML block is run the way a bridge reads it, and the
local-testing block through bash exactly as written. The install block
(``pip install agentproc``) is the one block not run: it would fetch the unrelated package
of that name from PyPI, while ours ships inside this distribution.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.agentproc import seed_blocks
from tests.agentproc.agents import TIMEOUT, agent_env, python3_on_path, run_agent, write_agent

SEED_PATH = Path(__file__).resolve().parents[3] / "shared" / "seeds" / seed_blocks.SEED_FILE

BLOCKS = [
    "INSTALL",
    "BASIC_USAGE",
    "PROFILE_YAML",
    "SESSION_ID",
    "STREAMING",
    "ERROR_HANDLING",
    "ATTACHMENTS",
    "HISTORY",
    "LOCAL_TESTING",
]


@pytest.mark.parametrize("name", BLOCKS)
def test_block_is_a_verbatim_copy_of_the_seed(name: str) -> None:
    if not SEED_PATH.exists():
        pytest.skip(f"the seed is not beside this checkout ({SEED_PATH})")
    assert getattr(seed_blocks, name) in SEED_PATH.read_text(encoding="utf-8")


def seed_agent(tmp_path: Path, block: str) -> Path:
    return write_agent(tmp_path, seed_blocks.STUBS + block)


def test_basic_usage_replies_with_the_handlers_string(tmp_path: Path) -> None:
    run = run_agent(seed_agent(tmp_path, seed_blocks.BASIC_USAGE), {"AGENT_MESSAGE": "hi"})
    assert (run.status, run.lines) == (0, ["echo: hi"])


def test_returning_a_session_id_declares_it_before_the_reply(tmp_path: Path) -> None:
    run = run_agent(seed_agent(tmp_path, seed_blocks.SESSION_ID), {"AGENT_MESSAGE": "hi"})
    assert (run.status, run.lines) == (0, ["AGENT_SESSION:cli-session-1", "cli: hi"])


def test_streaming_sends_each_chunk_as_a_partial_then_the_session(tmp_path: Path) -> None:
    run = run_agent(seed_agent(tmp_path, seed_blocks.STREAMING), {"AGENT_MESSAGE": "hi"})
    assert run.status == 0
    assert run.lines == [
        'AGENT_PARTIAL:"Hello,\\n"',
        'AGENT_PARTIAL:"he said \\""',
        'AGENT_PARTIAL:"hi"',
        'AGENT_PARTIAL:"\\""',
        "AGENT_SESSION:stream-session-7",
    ]


def test_send_error_writes_one_error_line_and_exits_1(tmp_path: Path) -> None:
    agent = seed_agent(tmp_path, seed_blocks.ERROR_HANDLING)
    run = run_agent(agent, {"AGENT_MESSAGE": "hi", "STUB_RATE_LIMITED": "1"})
    assert (run.status, run.lines) == (1, ['AGENT_ERROR:"rate limited; retry in 60s"'])


def test_protocol_error_writes_one_error_line_and_exits_1(tmp_path: Path) -> None:
    run = run_agent(seed_agent(tmp_path, seed_blocks.ERROR_HANDLING), {"AGENT_MESSAGE": "bad"})
    assert (run.status, run.lines) == (1, ['AGENT_ERROR:"bad input"'])
    assert run.stderr == ""


def test_error_handling_block_replies_normally_without_an_error(tmp_path: Path) -> None:
    run = run_agent(seed_agent(tmp_path, seed_blocks.ERROR_HANDLING), {"AGENT_MESSAGE": "ok"})
    assert (run.status, run.lines) == (0, ["echo: ok"])


def test_attachments_prefer_the_parsed_list(tmp_path: Path) -> None:
    attachments = [
        {"type": "image", "url": "https://example.test/a.png"},
        {"type": "file", "url": "https://example.test/b.pdf", "name": "b.pdf"},
        {"type": "image", "url": "https://example.test/c.png", "name": "c"},
        {"type": "image"},  # no url: skipped
    ]
    env = {
        "AGENT_MESSAGE": "look",
        "AGENT_ATTACHMENTS": json.dumps(attachments),
        "AGENT_IMAGE_URL": "https://example.test/single.png",
    }
    run = run_agent(seed_agent(tmp_path, seed_blocks.ATTACHMENTS), env)
    assert run.status == 0
    assert run.lines == ["saw 2 image(s) https://example.test/a.png https://example.test/c.png"]


def test_attachments_fall_back_to_the_single_image_url(tmp_path: Path) -> None:
    env = {"AGENT_MESSAGE": "look", "AGENT_IMAGE_URL": "https://example.test/single.png"}
    run = run_agent(seed_agent(tmp_path, seed_blocks.ATTACHMENTS), env)
    assert (run.status, run.lines) == (0, ["saw 1 image(s) https://example.test/single.png"])


def test_unparseable_attachments_give_an_empty_list(tmp_path: Path) -> None:
    env = {"AGENT_MESSAGE": "look", "AGENT_ATTACHMENTS": "[{not json"}
    run = run_agent(seed_agent(tmp_path, seed_blocks.ATTACHMENTS), env)
    assert (run.status, run.lines) == (0, ["saw 0 image(s)"])
    assert "AGENT_ATTACHMENTS is not valid JSON" in run.stderr


def test_history_carries_context_across_turns_of_one_session(tmp_path: Path) -> None:
    agent = seed_agent(tmp_path, seed_blocks.HISTORY)
    home = tmp_path / "agentproc-home"
    env = {"AGENT_SESSION_ID": "conv-1", "AGENTPROC_HOME": str(home)}
    first = run_agent(agent, {**env, "AGENT_MESSAGE": "hello"})
    second = run_agent(agent, {**env, "AGENT_MESSAGE": "again"})
    assert (first.status, first.lines) == (
        0,
        ["AGENT_SESSION:conv-1", "turn 1: hello (1 messages)"],
    )
    assert (second.status, second.lines) == (
        0,
        ["AGENT_SESSION:conv-1", "turn 2: again (3 messages)"],
    )
    stored = (home / "sessions" / "conv-1.jsonl").read_text().splitlines()
    assert [(json.loads(line)["role"], json.loads(line)["content"]) for line in stored] == [
        ("user", "hello"),
        ("assistant", "turn 1: hello (1 messages)"),
        ("user", "again"),
        ("assistant", "turn 2: again (3 messages)"),
    ]


def test_history_is_stored_under_the_home_folder_by_default(tmp_path: Path) -> None:
    agent = seed_agent(tmp_path, seed_blocks.HISTORY)  # run_agent sets HOME to tmp_path
    run = run_agent(agent, {"AGENT_SESSION_ID": "conv-2", "AGENT_MESSAGE": "hello"})
    assert run.status == 0
    assert (tmp_path / ".agentproc" / "sessions" / "conv-2.jsonl").exists()


def test_history_of_a_new_session_is_not_stored(tmp_path: Path) -> None:
    agent = seed_agent(tmp_path, seed_blocks.HISTORY)
    run = run_agent(agent, {"AGENT_SESSION_ID": "", "AGENT_MESSAGE": "hello"})
    assert (run.status, run.lines) == (0, ["turn 1: hello (1 messages)"])
    assert not (tmp_path / ".agentproc").exists()


def test_local_testing_command_runs_the_agent_as_written(tmp_path: Path) -> None:
    seed_agent(tmp_path, seed_blocks.BASIC_USAGE)
    env = agent_env(tmp_path, {"PATH": python3_on_path(tmp_path)})
    done = subprocess.run(
        ["bash", "-c", seed_blocks.LOCAL_TESTING],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stdout) == (0, b"echo: hello\n")


def test_profile_yaml_command_runs_the_agent(tmp_path: Path) -> None:
    """As a bridge reads the profile: no ``args``, so ``command`` splits on whitespace and
    runs in the profile's folder, within ``timeout_secs``."""
    seed_agent(tmp_path, seed_blocks.BASIC_USAGE)
    profile_path = tmp_path / "profile.yaml"
    profile_path.write_text(seed_blocks.PROFILE_YAML)
    profile = yaml.safe_load(profile_path.read_text())
    turn = {
        "AGENT_MESSAGE": "from the bridge",
        "AGENT_SESSION_ID": "",
        "AGENT_SESSION_NAME": "default",
        "AGENT_FROM_USER": "u1",
        "AGENT_STREAMING": "1",
        "AGENT_PROTOCOL_VERSION": "0.1",
        "PATH": python3_on_path(tmp_path),
    }
    done = subprocess.run(
        profile["command"].split(),
        cwd=profile_path.parent,
        env=agent_env(tmp_path, turn),
        capture_output=True,
        timeout=profile["timeout_secs"],
    )
    assert (done.returncode, done.stdout) == (0, b"echo: from the bridge\n")
