"""Ending an agent's whole process group, so that no grandchild outlives its turn.

The agent is started with ``start_new_session=True``: it leads a new session and process
group whose id is its pid, and everything it starts joins that group unless it leaves on
purpose (``setsid``). Signals go to the group, not to the one process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import trio

_POLL_FIRST_S = 0.005
_POLL_MAX_S = 0.05


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to every process of group ``pgid``; a group already gone is fine."""
    # Gone, or only members we may not signal (e.g. zombies on macOS): nothing to do.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` is still running (zombies do not count).

    A zombie cannot be signalled away; it waits for its parent to reap it, and orphans wait
    for init, which in some containers never does. So on Linux a group that ``kill(0)``
    still finds is looked up in ``/proc``, and only running members count.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # members we cannot signal; waiting for them would not help
    if not sys.platform.startswith("linux"):
        return True
    return _running_member(pgid)


def _running_member(pgid: int) -> bool:
    try:
        entries = os.scandir("/proc")
    except OSError:
        return True
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue  # exited while we looked
            # After the command name: state, ppid, pgrp, ...
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


async def wait_group_gone(pgid: int) -> None:
    """Return once no process of group ``pgid`` is running (polls; cancel to give up)."""
    delay = _POLL_FIRST_S
    while group_alive(pgid):
        await trio.sleep(delay)
        delay = min(delay * 2, _POLL_MAX_S)


async def end_group(pgid: int, grace_s: float) -> None:
    """SIGTERM to the group, up to ``grace_s`` for it to go, then SIGKILL to what is left.

    Returns as soon as the group has no running process. Cancellation stops the wait, and
    the SIGKILL is then not sent: shield the call when the group must end.
    """
    signal_group(pgid, signal.SIGTERM)
    with trio.move_on_after(grace_s):
        await wait_group_gone(pgid)
        return
    signal_group(pgid, signal.SIGKILL)
