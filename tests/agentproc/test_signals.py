"""Signals end a real agent process with the spec's status, keeping what was already sent.

SIGTERM is what a bridge sends at its timeout (exit 143), SIGINT is Ctrl-C during local
testing (exit 130). Each test starts ``python agent.py``, waits until the agent has written
its partial (so the handler is running), signals it, and checks the status and stdout.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.agentproc.agents import TIMEOUT, read_line, start_agent, write_agent

ASYNC_AGENT = """\
import trio
from agentproc import create_profile

async def handler(ctx):
    await ctx.send_partial("first")
    await ctx.send_partial("working")
    await trio.sleep_forever()
    return "never sent"

create_profile(handler)
"""

# A sync handler blocked in a call that ignores cancellation: the SDK abandons its thread.
SYNC_AGENT = """\
import time
from agentproc import create_profile

def handler(ctx):
    ctx.send_partial("first")
    ctx.send_partial("working")
    time.sleep(600)
    ctx.send_partial("too late")
    return "never sent"

create_profile(handler)
"""

# A handler that leaves a non-daemon thread behind: a signal must not wait for it.
LINGERING_THREAD_AGENT = """\
import threading, time
from agentproc import create_profile

async def handler(ctx):
    threading.Thread(target=time.sleep, args=(600,)).start()
    await ctx.send_partial("first")
    await ctx.send_partial("working")
    import trio
    await trio.sleep_forever()

create_profile(handler)
"""


def run_until_signalled(tmp_path: Path, source: str, signum: int) -> tuple[int, bytes, str]:
    """Start the agent, read its two partials, send ``signum``; status, rest of stdout, stderr."""
    process = start_agent(write_agent(tmp_path, source), {"AGENT_MESSAGE": "hi"})
    try:
        assert read_line(process) == 'AGENT_PARTIAL:"first"'
        assert read_line(process) == 'AGENT_PARTIAL:"working"'
        process.send_signal(signum)
        rest, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, rest, err.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
@pytest.mark.parametrize(
    "source",
    [ASYNC_AGENT, SYNC_AGENT, LINGERING_THREAD_AGENT],
    ids=["async", "blocked-sync", "lingering-thread"],
)
def test_a_signal_ends_the_turn_with_the_spec_status(
    tmp_path: Path, source: str, signum: int, status: int
) -> None:
    returncode, rest, stderr = run_until_signalled(tmp_path, source, signum)
    assert returncode == status, stderr  # an exit status: death by the signal would be -signum
    assert rest == b""  # nothing after the partials: no body, no error line
    assert "Traceback" not in stderr


def test_partials_sent_before_sigterm_all_reach_the_bridge(tmp_path: Path) -> None:
    """A burst of partials right before the signal: each is out, whole, in order."""
    agent = write_agent(
        tmp_path,
        """\
import trio
from agentproc import create_profile

async def handler(ctx):
    for i in range(2000):
        await ctx.send_partial(f"chunk {i}")
    await trio.sleep_forever()

create_profile(handler)
""",
    )
    process = start_agent(agent, {"AGENT_MESSAGE": "hi"})
    try:
        first = read_line(process)
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, err.decode()
    lines = [first, *rest.decode().splitlines()]
    assert rest == b"" or rest.endswith(b"\n")  # no torn last line
    assert lines == [f'AGENT_PARTIAL:"chunk {i}"' for i in range(len(lines))]
