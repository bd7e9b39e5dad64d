"""Wire 0.4's permission channel, the bridge's side: what the agent reads back on stdin.

``events.py`` writes the chosen request lines, then ``@read`` reports each stdin line it
gets as a partial, so the tests see exactly the response lines the bridge wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from agentproc.bridge import (
    PermissionAnswer,
    PermissionRequest,
    Profile,
    allow_tools,
    deny_all,
)

from .support import events_agent, make_profile, run, wire


def permitted(tmp_path: Path, **keys: object) -> Profile:
    return make_profile(tmp_path, **events_agent(permission=True, **keys))


def request(request_id: str = "1", tool_name: str = "Bash", **extra: object) -> str:
    fields = {"type": "permission_request", "request_id": request_id, "tool_name": tool_name}
    return json.dumps({**fields, "input": {"command": "ls"}, **extra})


def responses(delivered: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in delivered if line != "<eof>"]


async def test_an_allowed_request_is_answered_without_inventing_updated_input(
    tmp_path: Path,
) -> None:
    turn = await run(
        permitted(tmp_path), wire(request(), "@read"), on_permission=allow_tools(["Bash"])
    )
    assert responses(turn.delivered) == [
        {"type": "permission_response", "request_id": "1", "behavior": "allow"}
    ]
    assert turn.result.ok


async def test_an_approver_may_change_the_input_and_give_a_reason(tmp_path: Path) -> None:
    def approve(request: PermissionRequest) -> PermissionAnswer:
        assert (request.tool_name, request.input, request.description) == (
            "Bash",
            {"command": "ls"},
            "list files",
        )
        return PermissionAnswer("allow", {"command": "ls -a"}, "safer")

    turn = await run(
        permitted(tmp_path),
        wire(request(description="list files"), "@read"),
        on_permission=approve,
    )
    assert responses(turn.delivered) == [
        {
            "type": "permission_response",
            "request_id": "1",
            "behavior": "allow",
            "updated_input": {"command": "ls -a"},
            "message": "safer",
        }
    ]


async def test_a_policy_denies_tools_it_does_not_list(tmp_path: Path) -> None:
    turn = await run(
        permitted(tmp_path),
        wire(request(tool_name="Write"), "@read"),
        on_permission=allow_tools(["Read"]),
    )
    [answer] = responses(turn.delivered)
    assert (answer["behavior"], answer["message"]) == (
        "deny",
        "Write is not an allowed tool (Read)",
    )


async def test_deny_all_denies(tmp_path: Path) -> None:
    turn = await run(permitted(tmp_path), wire(request(), "@read"), on_permission=deny_all())
    assert responses(turn.delivered)[0]["behavior"] == "deny"


async def test_an_async_approver_is_awaited_and_answers_come_in_request_order(
    tmp_path: Path,
) -> None:
    async def slow_first(request: PermissionRequest) -> PermissionAnswer:
        await trio.sleep(0.3 if request.request_id == "a" else 0)
        return PermissionAnswer.allow()

    turn = await run(
        permitted(tmp_path),
        wire(request("a"), request("b"), "@read", "@read"),
        on_permission=slow_first,
    )
    assert [answer["request_id"] for answer in responses(turn.delivered)] == ["a", "b"]


async def test_a_malformed_request_with_a_usable_id_is_denied(tmp_path: Path) -> None:
    bad = json.dumps({"type": "permission_request", "request_id": "7", "tool_name": "Bash"})
    turn = await run(permitted(tmp_path), wire(bad, "@read"), on_permission=allow_tools(["Bash"]))
    assert responses(turn.delivered) == [
        {
            "type": "permission_response",
            "request_id": "7",
            "behavior": "deny",
            "message": "malformed permission request",
        }
    ]
    assert any("malformed permission_request" in warning for warning in turn.warnings)


async def test_a_malformed_request_without_a_usable_id_is_ignored(tmp_path: Path) -> None:
    bad = json.dumps({"type": "permission_request", "request_id": "has space", "tool_name": "X"})
    profile = permitted(tmp_path, timeout_secs=1, kill_grace_secs=0.2)
    turn = await run(profile, wire(bad, "@stdin?"), on_permission=allow_tools(["X"]))
    assert turn.delivered == ["open"]  # nothing was written back
    assert turn.result.ok


async def test_an_approver_that_fails_denies(tmp_path: Path) -> None:
    def broken(request: PermissionRequest) -> PermissionAnswer:
        raise ValueError("approver bug")

    turn = await run(permitted(tmp_path), wire(request(), "@read"), on_permission=broken)
    assert responses(turn.delivered)[0]["message"] == "permission handler error"
    assert any("approver bug" in warning for warning in turn.warnings)


async def test_unanswered_requests_are_denied_when_the_turn_times_out(tmp_path: Path) -> None:
    profile = permitted(tmp_path, timeout_secs=0.8, kill_grace_secs=1)
    # No approver: the agent waits on stdin; the timeout's denial is what it reads.
    turn = await run(profile, wire(request("1"), request("2"), "@read", "@read", "@read"))
    assert (turn.result.timed_out, turn.result.exit_code) == (True, 124)
    assert turn.delivered == []  # what the agent read after the timeout is not forwarded


async def test_the_timeout_denial_is_what_the_agent_reads_before_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "waits.py"
    log = tmp_path / "read.log"
    script.write_text(
        "import json, signal, sys\n"
        "signal.signal(signal.SIGTERM, lambda *a: None)  # finish writing the log first\n"
        "sys.stdin.readline()\n"
        f"print(json.dumps({{'type': 'permission_request', 'request_id': 'r1', "
        f"'tool_name': 'Bash', 'input': {{}}}}), flush=True)\n"
        "answer, after = sys.stdin.readline(), sys.stdin.readline()\n"
        f"open({str(log)!r}, 'w').write(answer + '|' + after)\n"
    )
    from .support import PYTHON

    profile = make_profile(
        tmp_path, wire="0.4", command=PYTHON, args=[str(script)], permission=True,
        timeout_secs=0.8, kill_grace_secs=2,
    )  # fmt: skip
    result = (await run(profile, "hi")).result
    assert result.timed_out
    answer, after = log.read_text().split("|")
    assert json.loads(answer) == {
        "type": "permission_response",
        "request_id": "r1",
        "behavior": "deny",
        "message": "permission timed out",
    }
    assert after == ""  # then stdin was closed


async def test_without_the_channel_a_request_is_warned_about_and_not_answered(
    tmp_path: Path,
) -> None:
    profile = make_profile(tmp_path, **events_agent())
    turn = await run(profile, wire(request(), "@read"), on_permission=allow_tools(["Bash"]))
    assert turn.delivered == ["<eof>"]
    assert any("did not enable the permission channel" in w for w in turn.warnings)


async def test_a_request_is_not_body_and_its_session_id_counts(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, **events_agent())
    turn = await run(profile, wire(request(session_id="from-request")))
    assert (turn.result.reply, turn.result.session_id) == ("", "from-request")


async def test_an_error_cancels_pending_requests(tmp_path: Path) -> None:
    async def slow(request: PermissionRequest) -> PermissionAnswer:
        await trio.sleep(0.5)
        return PermissionAnswer.allow()

    error = json.dumps({"type": "error", "message": "gave up"})
    log = tmp_path / "log"
    profile = permitted(tmp_path, timeout_secs=5, env={"EVENTS_RECORD": str(log)})
    turn = await run(profile, wire(request(), error, "@log-read"), on_permission=slow)
    assert turn.result.error == "gave up"
    assert log.read_text() == "<none>"  # the answer that came after the error was not sent
