"""Starting a contender as a session leader, and stopping everything it started.

Each contender gets its own session (``start_new_session``), so one signal to its process
group reaches every process it spawned, and the sampler can find them all. Stopping sends
SIGTERM (what a user's Ctrl-C or a service manager does), waits ``grace_s``, then SIGKILLs
whatever is left of the group; the leader is always reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO


def start_in_session(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new session; its stdout and stderr go to ``log``."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _signal_group(pid: int, sig: int) -> bool:
    """Signal the process group ``pid``; False when no process of it is left."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _group_alive(pid: int) -> bool:
    return _signal_group(pid, 0)  # signal 0: only checks that the group still exists


def stop_session(process: subprocess.Popen[str] | subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the session's group, SIGKILL it after ``grace_s``; reap the leader."""
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)
    # Children may outlive the leader (a worker process still finishing): give them the
    # rest of the grace period, then kill what remains.
    while time.monotonic() < deadline and _group_alive(process.pid):
        time.sleep(0.05)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()
