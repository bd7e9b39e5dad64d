"""Process control: the whole group ends with the turn, everything is reaped, nothing leaks."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from agentproc.bridge import TurnInput, run_turn

from .support import (
    agent,
    child_pids,
    make_profile,
    open_fds,
    pid_running,
    python_agent,
    read_pid,
    run,
    wire,
)


@pytest.fixture
async def lifeline_started(tmp_path: Path) -> None:
    """One turn first: the first turn of a process starts its lifeline watcher (a child
    process with a pipe that lives as long as this process), which a leak check must count
    as already there."""
    warm_up = make_profile(tmp_path / "warm-up", command=agent("wire.sh"))
    assert (await run(warm_up, wire("warm"))).result.ok


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where an agent writes the pid of a process it leaves behind; killed after the test."""
    path = tmp_path / "left_behind.pid"
    yield path
    if path.exists() and pid_running(read_pid(path)):
        os.kill(read_pid(path), signal.SIGKILL)


@pytest.mark.parametrize("output", ["keep", "detach"])
async def test_a_grandchild_left_running_is_dead_when_the_turn_returns(
    tmp_path: Path, pid_file: Path, output: str
) -> None:
    profile = make_profile(
        tmp_path,
        command=agent("leaves_grandchild.sh"),
        env={"PID_FILE": str(pid_file), "GRANDCHILD_OUTPUT": output},
    )
    turn = await run(profile)
    assert turn.result.ok
    assert turn.result.reply == "done, a sleep left behind"
    assert not pid_running(read_pid(pid_file))


async def test_a_grandchild_ignoring_sigterm_gets_sigkill_after_the_grace(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = make_profile(
        tmp_path,
        command=agent("leaves_grandchild.sh"),
        kill_grace_secs=0.5,
        env={"PID_FILE": str(pid_file), "GRANDCHILD_OUTPUT": "keep", "GRANDCHILD_TRAP": "ignore"},
    )
    turn = await run(profile)
    assert turn.result.ok
    assert not pid_running(read_pid(pid_file))


async def test_the_agent_ignoring_sigterm_is_killed_and_reaped(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = make_profile(
        tmp_path,
        command=agent("ignores_sigterm.sh"),
        timeout_secs=0.3,
        kill_grace_secs=0.3,
        env={"PID_FILE": str(pid_file)},
    )
    before = child_pids()
    turn = await run(profile)
    assert turn.result.exit_code == 124
    assert not pid_running(read_pid(pid_file))
    assert child_pids() <= before  # reaped: not even a zombie is left


async def test_a_process_that_left_the_group_cannot_hold_the_turn_open(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = make_profile(
        tmp_path, env={"PID_FILE": str(pid_file)}, **python_agent("escapes_group.py")
    )
    turn = await run(profile)
    assert turn.result.ok
    assert turn.result.reply == "bye"
    assert any("a process that left the group" in warning for warning in turn.warnings)


async def test_cancelling_a_turn_ends_its_group_and_reaps_the_agent(
    tmp_path: Path, pid_file: Path, lifeline_started: None
) -> None:
    profile = make_profile(
        tmp_path,
        command=agent("ignores_sigterm.sh"),
        kill_grace_secs=0.3,
        env={"PID_FILE": str(pid_file)},
    )
    fds, children = open_fds(), child_pids()
    delivered: list[str] = []
    with trio.move_on_after(30) as scope:

        async def on_partial(text: str) -> None:
            delivered.append(text)
            scope.cancel()  # cancel the turn as soon as it is under way

        await run_turn(profile, TurnInput(), on_partial=on_partial)
    assert scope.cancelled_caught
    assert delivered == ["still thinking"]
    assert not pid_running(read_pid(pid_file))
    assert child_pids() <= children
    assert open_fds() == fds


async def test_a_failing_on_partial_ends_the_turn_and_propagates(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = make_profile(
        tmp_path,
        command=agent("ignores_sigterm.sh"),
        kill_grace_secs=0.2,
        env={"PID_FILE": str(pid_file)},
    )

    def on_partial(text: str) -> None:
        raise RuntimeError(f"cannot deliver {text!r}")

    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match="cannot deliver")):
        await run_turn(profile, on_partial=on_partial)
    assert not pid_running(read_pid(pid_file))


async def test_200_concurrent_turns_leak_no_process_and_no_file_descriptor(
    tmp_path: Path, lifeline_started: None
) -> None:
    profile = make_profile(tmp_path, command=agent("wire.sh"))
    fds, children = open_fds(), child_pids()
    results: dict[int, str] = {}

    async def one(n: int) -> None:
        turn = await run(profile, wire(f"AGENT_SESSION:s{n}", f'AGENT_PARTIAL:"p{n}"', f"r{n}"))
        assert turn.result.ok
        assert turn.delivered == [f"p{n}"]
        assert turn.result.session_id == f"s{n}"
        results[n] = turn.result.reply

    with trio.fail_after(240):
        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(one, n)
    assert results == {n: f"r{n}" for n in range(200)}
    assert open_fds() == fds
    assert child_pids() <= children
