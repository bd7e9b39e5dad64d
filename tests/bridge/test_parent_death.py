"""Agents die with the process that started them, however it dies: SIGKILL included.

Each test starts a real bridge process (``useragent run --profile``, ``agentproc run``,
``useragent dev --profile``), waits until its agent runs and has started a grandchild in its
process group, SIGKILLs the bridge process and expects both to be gone soon after.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from agentproc.bridge import LIFELINE_VARIABLE, _lifeline_watcher
from tests.runtime.support import clean_env, submit, worker_process
from user_agent_sdk.server import RunningServer

from .support import agent, pid_running, write_profile

pytestmark = pytest.mark.slow

GONE_WITHIN_S = 10.0
"""Generous: the agents get SIGTERM at once and SIGKILL after their 1 s grace."""


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where the agent writes its pid and its grandchild's. After the test, the processes
    of every ``*.pids`` file of ``tmp_path`` are killed."""
    yield tmp_path / "agent.pids"
    for path in tmp_path.glob("*.pids"):
        for pid in _pids(path):
            if pid_running(pid):
                os.kill(pid, signal.SIGKILL)


def _pids(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()]


def _profile(tmp_path: Path, pid_file: Path, ignore_sigterm: bool = False) -> Path:
    return write_profile(
        tmp_path,
        {"command": agent("blocks_with_grandchild.sh"), "timeout_secs": 600,
         "kill_grace_secs": 1,
         "env": {"PID_FILE": str(pid_file), "IGNORE_SIGTERM": "1" if ignore_sigterm else "0"}},
    )  # fmt: skip


async def _agent_and_grandchild(pid_file: Path, timeout: float = 20) -> list[int]:
    """The two pids, once the agent has written them."""
    with trio.move_on_after(timeout):
        while not pid_file.exists():
            await trio.sleep(0.02)
        pids = _pids(pid_file)
        assert len(pids) == 2
        assert all(pid_running(pid) for pid in pids)
        return pids
    raise AssertionError(f"the agent did not start within {timeout} s")


async def _assert_gone(pids: list[int], what: str) -> None:
    with trio.move_on_after(GONE_WITHIN_S):
        while any(pid_running(pid) for pid in pids):
            await trio.sleep(0.05)
    running = [pid for pid in pids if pid_running(pid)]
    assert not running, f"{what} {running} still running {GONE_WITHIN_S:g} s after the SIGKILL"


def _useragent_run_children(pid: int) -> list[int]:
    """The ``useragent run`` processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    parent = int(stat.read().rpartition(b")")[2].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    argv = cmdline.read().split(b"\0")
            except FileNotFoundError:
                continue
            if parent == pid and argv[2:4] == [b"user_agent_sdk.cli", b"run"]:
                found.append(int(entry))
    return found


@pytest.fixture
def worker_env(server: RunningServer) -> dict[str, str]:
    return clean_env(CONDUCTOR_SERVER_URL=server.api_url, USERAGENT_AGENT_ID="chat")


@pytest.mark.parametrize("ignore_sigterm", [False, True], ids=["sigterm", "sigkill"])
async def test_sigkilled_useragent_run_profile_takes_its_agents_along(
    api: httpx.AsyncClient,
    worker_env: dict[str, str],
    tmp_path: Path,
    pid_file: Path,
    ignore_sigterm: bool,
) -> None:
    profile = _profile(tmp_path, pid_file, ignore_sigterm)
    args = ["run", "--profile", str(profile)]
    async with worker_process(args, cwd=tmp_path, env=worker_env) as worker:
        await worker.wait_for(r"serving agent id 'chat'")
        await submit(api, "chat", {"message": "block"})
        pids = await _agent_and_grandchild(pid_file)
        worker.signal(signal.SIGKILL)
        assert await worker.wait() == -signal.SIGKILL
    await _assert_gone(pids, "agent and grandchild")


async def test_sigkilled_agentproc_run_takes_its_agent_along(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = _profile(tmp_path, pid_file)
    command = [sys.executable, "-m", "agentproc.cli", "run", "-p", str(profile), "--prompt", "hi"]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        pids = await _agent_and_grandchild(pid_file)
    finally:
        process.kill()
        await process.wait()
    await _assert_gone(pids, "agent and grandchild")


async def test_sigkilled_useragent_dev_takes_its_useragent_run_and_agents_along(
    api: httpx.AsyncClient, worker_env: dict[str, str], tmp_path: Path, pid_file: Path
) -> None:
    profile = _profile(tmp_path, pid_file)
    args = ["dev", "--profile", str(profile), "--grace", "1"]
    run_child: list[int] = []
    async with worker_process(args, cwd=tmp_path, env=worker_env) as dev:
        try:
            await dev.wait_for(r"serving agent id 'chat'")
            await submit(api, "chat", {"message": "block"})
            pids = await _agent_and_grandchild(pid_file)
            run_child += _useragent_run_children(dev.process.pid)
            assert len(run_child) == 1
            dev.signal(signal.SIGKILL)
            assert await dev.wait() == -signal.SIGKILL
            await _assert_gone([*run_child, *pids], "useragent run, agent and grandchild")
        finally:
            # A useragent run left behind holds dev's stdout open: the block could not end.
            for pid in run_child:
                if pid_running(pid):
                    os.kill(pid, signal.SIGKILL)


# -- the watcher and the lifeline, closer up ---------------------------------------------------

WATCHER = Path(_lifeline_watcher.__file__)


def _start_agent(pid_file: Path, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PID_FILE": str(pid_file), LIFELINE_VARIABLE: token}
    return subprocess.Popen(
        [agent("blocks_with_grandchild.sh")],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


async def test_the_watcher_finds_an_agent_it_only_heard_was_about_to_start(
    tmp_path: Path, pid_file: Path
) -> None:
    # What the watcher reads if the bridge dies before open_process returns: the agent's
    # group is found by the token in the agent's environment.
    announced, forgotten = tmp_path / "announced.pids", tmp_path / "forgotten.pids"
    agents = [_start_agent(announced, "t.1"), _start_agent(forgotten, "t.2")]
    try:
        pids = await _agent_and_grandchild(announced)
        survivors = await _agent_and_grandchild(forgotten)
        await trio.run_process(
            [sys.executable, "-I", "-S", WATCHER], stdin=b"?t.1 1.0\n?t.2 1.0\n-t.2\n"
        )
        await _assert_gone(pids, "the announced agent and grandchild")
        assert all(pid_running(pid) for pid in survivors), "an agent that had ended was hit"
    finally:
        for process in agents:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


RESTART_SCRIPT = """
import os, signal, sys, time

import trio

from agentproc.bridge import load_profile, run_turn
from agentproc.bridge._lifeline import _LIFELINE


async def until_exists(path):
    while not os.path.exists(path):
        await trio.sleep(0.02)


async def main(profile_path, first, second):
    profile = load_profile(profile_path)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: run_turn(profile, environ={**os.environ, "PID_FILE": first}))
        await until_exists(first)
        watcher = _LIFELINE._watcher_pid
        os.kill(watcher, signal.SIGKILL)
        os.waitpid(watcher, 0)
        nursery.start_soon(lambda: run_turn(profile, environ={**os.environ, "PID_FILE": second}))
        await until_exists(second)
        assert _LIFELINE._watcher_pid not in (None, watcher)
        os.kill(os.getpid(), signal.SIGKILL)


trio.run(main, *sys.argv[1:])
"""


async def test_a_killed_watcher_is_replaced_and_told_of_every_running_agent(
    tmp_path: Path, pid_file: Path
) -> None:
    profile = write_profile(
        tmp_path,
        {"command": agent("blocks_with_grandchild.sh"), "timeout_secs": 600,
         "kill_grace_secs": 1},
    )  # fmt: skip
    first, second = tmp_path / "first.pids", tmp_path / "second.pids"
    done = await trio.run_process(
        [sys.executable, "-c", RESTART_SCRIPT, str(profile), str(first), str(second)],
        stdout=subprocess.DEVNULL,
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    await _assert_gone([*_pids(first), *_pids(second)], "agents and grandchildren")
