"""``agentproc run`` with a wire-0.4 agent, as a user runs it: a real process, its stdout,
stderr and exit status; permission requests decided by ``--allow`` / ``--deny-all``."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from .support import events_agent, wire, write_profile
from .test_cli import agentproc


def event(**fields: object) -> str:
    return json.dumps(fields)


def request(tool: str) -> str:
    return event(type="permission_request", request_id=tool, tool_name=tool, input={})


def test_partials_print_thinking_goes_to_stderr_and_the_session_is_quoted(
    tmp_path: Path,
) -> None:
    path = write_profile(tmp_path, events_agent())
    message = wire(
        event(type="partial", text="pondering", role="thinking"),
        event(type="partial", text="Hello"),
        event(type="result", text="Hello", session_id="s 1"),
    )
    done = agentproc("run", "-p", str(path), "--prompt", message)
    assert (done.returncode, done.stdout) == (0, "Hello\n")
    assert "agentproc: thinking: pondering" in done.stderr
    assert "agentproc: session s 1 (continue with --session 's 1')" in done.stderr


def test_json_carries_usage_thinking_and_the_wire(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent())
    message = wire(
        event(type="partial", text="t", role="thinking"),
        event(type="result", text="r", usage={"input_tokens": 5, "output_tokens": 1}),
    )
    done = agentproc("run", "-p", str(path), "--prompt", message, "--json")
    document = json.loads(done.stdout)
    assert document["usage"] == {"input_tokens": 5, "output_tokens": 1}
    assert (document["thinking"], document["wire"], document["reply"]) == (["t"], "0.4", "")


def test_wire_04_from_the_command_line_runs_a_01_profile_as_04(tmp_path: Path) -> None:
    keys = events_agent()
    del keys["wire"]
    path = write_profile(tmp_path, keys)
    done = agentproc(
        "run", "-p", str(path), "--wire", "0.4", "--prompt", event(type="result", text="ok")
    )
    assert (done.returncode, done.stdout) == (0, "ok\n")


def test_an_error_event_exits_1_and_is_shown(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent())
    done = agentproc("run", "-p", str(path), "--prompt", event(type="error", message="no quota"))
    assert done.returncode == 1
    assert "agentproc: error: no quota" in done.stderr


def test_env_from_the_command_line_wins_over_the_profile(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    path = write_profile(tmp_path, events_agent(env={"EVENTS_RECORD": str(record), "MODEL": "big"}))
    done = agentproc("run", "-p", str(path), "--prompt", "@record", "--env", "MODEL=${small}")
    assert done.returncode == 0, done.stderr
    assert json.loads(record.read_text())["env"]["MODEL"] == "${small}"


def test_cwd_from_the_command_line_resolves_against_the_profile_folder(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    (tmp_path / "elsewhere").mkdir()
    path = write_profile(tmp_path, events_agent(env={"EVENTS_RECORD": str(record)}))
    done = agentproc("run", "-p", str(path), "--prompt", "@record", "--cwd", "elsewhere")
    assert done.returncode == 0, done.stderr
    assert json.loads(record.read_text())["cwd"] == str((tmp_path / "elsewhere").resolve())


def test_allow_lets_listed_tools_through_and_denies_the_rest(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent(permission=True))
    message = wire(request("Read"), request("Bash"), "@read", "@read")
    done = agentproc("run", "-p", str(path), "--prompt", message, "--allow", "Read", "--json")
    answers = [json.loads(line) for line in json.loads(done.stdout)["partials"]]
    assert [(a["request_id"], a["behavior"]) for a in answers] == [
        ("Read", "allow"),
        ("Bash", "deny"),
    ]


def test_without_a_terminal_or_a_policy_every_request_is_denied(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent(permission=True))
    done = agentproc("run", "-p", str(path), "--prompt", wire(request("Read"), "@read"), "--json")
    [answer] = [json.loads(line) for line in json.loads(done.stdout)["partials"]]
    assert answer["behavior"] == "deny"
    assert "--allow TOOL" in answer["message"]


def test_allow_and_deny_all_together_are_refused(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent(permission=True))
    done = agentproc("run", "-p", str(path), "--prompt", "x", "--allow", "A", "--deny-all")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "agentproc: --allow and --deny-all exclude each other",
    )


def test_at_a_terminal_the_user_is_asked_and_their_answer_is_sent(tmp_path: Path) -> None:
    path = write_profile(tmp_path, events_agent(permission=True))
    message = wire(request("Bash"), "@read")
    controller, terminal = pty.openpty()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENT_")}
    with subprocess.Popen(
        [sys.executable, "-m", "agentproc.cli", "run", "-p", str(path), "--prompt", message],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    ) as bridge:
        os.close(terminal)
        seen = b""
        deadline = time.monotonic() + 60
        while b"Allow? [y/N]" not in seen and time.monotonic() < deadline:
            if select.select([controller], [], [], 1)[0]:
                seen += os.read(controller, 4096)
        os.write(controller, b"y\n")
        stdout, _ = bridge.communicate(timeout=60)
    os.close(controller)
    assert b"the agent asks to run Bash (request Bash)" in seen
    assert json.loads(stdout) == {
        "type": "permission_response",
        "request_id": "Bash",
        "behavior": "allow",
    }


def test_the_protocol_clis_form_and_its_attachment_flags_work(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    path = write_profile(tmp_path, events_agent(env={"EVENTS_RECORD": str(record)}))
    done = agentproc(
        "--profile", str(path), "--prompt", "@record", "--image-url", "https://i", "--file-url",
        "https://f",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(record.read_text())["turn"]["attachments"] == [
        {"kind": "image", "url": "https://i"},
        {"kind": "file", "url": "https://f"},
    ]
