"""A lifeline: the process groups this process starts end when it ends, SIGKILL included.

One watcher process per bridge process (``_lifeline_watcher.py``), started on first use,
reads a pipe whose only write end stays here. Each process is announced on the pipe before
it starts (with a token that goes into its environment), then its process group once it
has started, and it is forgotten once its group has ended. When this process ends, however
it ends, the kernel closes the write end; the watcher reads end of file and ends every group
still registered: SIGTERM, then SIGKILL after the group's grace, as on a timeout. A process
announced but not yet registered (this process died while starting it: ``open_process``
returns only after a trip through a worker thread and the event loop, which under load
takes long enough for the agent to be well under way) is found by its token.

Why a watcher and not the Linux parent-death signal (``prctl(PR_SET_PDEATHSIG)``):

- That signal is sent when the *thread* that forked the child exits, and trio forks from a
  worker thread (``open_process`` runs ``Popen`` in ``trio.to_thread``), which exits after
  10 s idle: an agent started that way was killed 10 s into its turn.
- It can only be set in the child between fork and exec, with ``preexec_fn``, which is not
  safe in a process with threads (the runtime runs sync handlers in threads) and makes
  ``subprocess`` fork rather than vfork, so every turn would pay.
- It reaches the agent only, not the processes the agent started; the watcher ends the
  agent's whole group, grandchildren included, as the end of a turn does.

The watcher costs one process start per bridge process (a vfork and exec on the first
turn; its interpreter starts alongside the agent) and each turn three small pipe writes.

Limits: a process that left the group on purpose (``setsid``) is not ended, as at the end of
a turn. The token search reads ``/proc``, so elsewhere than on Linux a process whose start
this process did not live to see is not ended. Should this process die after a group ended
but before it was forgotten, the watcher signals a group that no longer exists, which is
harmless unless its id was reused in that instant.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

LIFELINE_VARIABLE = "AGENTPROC_LIFELINE"
"""Set in the environment of every process tied to the lifeline: its token."""

_WATCHER_SCRIPT = Path(__file__).with_name("_lifeline_watcher.py")


@attrs.define
class _Entry:
    grace_secs: float
    pgid: int | None = None


class _Lifeline:
    _lock: threading.Lock
    _fd: int | None
    """The write end of the pipe, non-blocking: a stuck watcher must not stall a turn."""
    _watcher_pid: int | None
    _entries: dict[str, _Entry]
    _tokens: Iterator[str]
    _reported: bool

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._fd = None
        self._watcher_pid = None
        self._entries = {}
        # Random, so that no other bridge's watcher takes our processes for its own.
        prefix = os.urandom(6).hex()
        self._tokens = (f"{prefix}.{n}" for n in itertools.count())
        self._reported = False

    def announce(self, grace_secs: float) -> tuple[str | None, str | None]:
        """A token for a process about to start, or None; and, once per process, a problem."""
        with self._lock:
            token = next(self._tokens)
            self._entries[token] = _Entry(grace_secs)
            problem = self._send(_announcement(token, self._entries[token]))
            if problem is None:
                return token, None
            del self._entries[token]
            if self._reported:
                return None, None
            self._reported = True
            return None, f"agents may outlive this process if it is killed: {problem}"

    def started(self, token: str, pgid: int) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.pgid = pgid
                self._send(b"+%s %d\n" % (token.encode(), pgid))

    def forget(self, token: str) -> None:
        with self._lock:
            if self._entries.pop(token, None) is None or self._fd is None:
                return
            try:
                os.write(self._fd, b"-%s\n" % token.encode())
            except BrokenPipeError:
                self._drop()  # the watcher is gone; the next announcement starts another
            except OSError:
                pass  # a full pipe: the watcher may signal a group already gone (harmless)

    def _send(self, line: bytes) -> str | None:
        """Write ``line`` (shorter than PIPE_BUF, so it goes whole or not at all)."""
        if self._fd is None:
            return self._start()  # tells it of every entry, this one included
        try:
            os.write(self._fd, line)
        except BrokenPipeError:  # the watcher was killed: start another, with every entry
            self._drop()
            return self._start()
        except BlockingIOError:
            return "the lifeline watcher does not read its pipe"
        except OSError as exc:
            return f"cannot write to the lifeline watcher: {exc}"
        return None

    def _start(self) -> str | None:
        if not sys.executable:
            return "no Python interpreter to run the lifeline watcher (sys.executable is empty)"
        read_end, write_end = os.pipe()
        try:
            # posix_spawn (vfork and exec) is safe in a process with threads, and runs no
            # Python in the child. The watcher gets a process group of its own: a terminal's
            # Ctrl-C, or a signal to this process's group, must not end it before this
            # process.
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", str(_WATCHER_SCRIPT)],
                # Not the token this process may have been started with: a watcher must not
                # be found, and ended, as one of the processes of its bridge's own bridge.
                {name: value for name, value in os.environ.items() if name != LIFELINE_VARIABLE},
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_end, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                ],
                setpgroup=0,
            )
        except OSError as exc:
            os.close(write_end)
            return f"cannot start the lifeline watcher: {exc}"
        finally:
            os.close(read_end)
        os.set_blocking(write_end, False)
        self._fd, self._watcher_pid = write_end, pid
        try:  # into an empty pipe, which holds far more lines than there are turns
            for token, entry in self._entries.items():
                os.write(write_end, _announcement(token, entry))
        except OSError as exc:
            return f"cannot write to the lifeline watcher: {exc}"
        return None

    def _drop(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._watcher_pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._watcher_pid, os.WNOHANG)  # no wait: a zombie is harmless
            self._watcher_pid = None

    def forget_in_child(self) -> None:
        """After ``fork``: the child must not keep the parent's pipe open (that would keep the
        watcher from seeing the parent die), and the parent's processes are not the child's."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._reset()  # with a new lock: a thread of the parent may have held the old one


def _announcement(token: str, entry: _Entry) -> bytes:
    line = f"?{token} {entry.grace_secs!r}\n"
    if entry.pgid is not None:
        line += f"+{token} {entry.pgid}\n"
    return line.encode()


_LIFELINE = _Lifeline()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_LIFELINE.forget_in_child)


class Tie:
    """One process tied to the lifeline of this process (see :func:`dies_with_this_process`)."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self.env: dict[str, str] = {} if token is None else {LIFELINE_VARIABLE: token}
        """Variables to add to the environment of the process to start."""

    def started(self, pgid: int) -> None:
        """The process has started and leads (or belongs to) process group ``pgid``."""
        if self._token is not None:
            _LIFELINE.started(self._token, pgid)


@contextlib.contextmanager
def dies_with_this_process(
    grace_secs: float, warn: Callable[[str], object] | None = None
) -> Iterator[Tie]:
    """Tie a process about to start to this one: if this one ends first, so does its group.

    ::

        with dies_with_this_process(grace_secs) as tie:
            process = await trio.lowlevel.open_process(
                argv, env={**env, **tie.env}, start_new_session=True
            )
            tie.started(process.pid)
            ...  # leave the block once the process group has ended

    Ended as on a timeout: SIGTERM to the group, then SIGKILL if it is still there after
    ``grace_secs``. This holds however this process ends, SIGKILL included, from the moment
    the process starts (even before ``started``, on Linux) until the block is left, as long
    as the watcher process that this process starts on first use is alive (it is restarted
    if it was killed). The process must be started with ``tie.env`` in its environment.

    Never raises for the lifeline's sake: the first time a process cannot be tied (the
    watcher cannot be started, for one), ``warn`` is called with the reason, once per process.
    """
    token, problem = _LIFELINE.announce(grace_secs)
    if problem is not None and warn is not None:
        warn(problem)
    try:
        yield Tie(token)
    finally:
        if token is not None:
            _LIFELINE.forget(token)
