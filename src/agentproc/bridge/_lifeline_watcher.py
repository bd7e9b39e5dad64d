"""The watcher at the far end of a lifeline (see ``_lifeline``): run as a script, not imported.

``python -I -S _lifeline_watcher.py`` with the read end of the lifeline pipe on stdin. The
lines it reads, for each process the bridge starts:

- ``?TOKEN GRACE``: about to start, with ``AGENTPROC_LIFELINE=TOKEN`` in its environment;
- ``+TOKEN PGID``: started, leading process group PGID;
- ``-TOKEN``: its group has ended.

End of file means that every process holding the write end is gone: the bridge died or
exited. Then every group still registered gets SIGTERM, and SIGKILL once its GRACE has
passed with the group still there; a process announced but not yet known to have started
is looked for by its token (on Linux, in ``/proc/*/environ``), and its group ended the
same way. Then the watcher exits.

It imports only modules that need no ``site-packages`` (it runs with ``-S``, which shortens
the interpreter's start-up), and nothing of this package.
"""

from __future__ import annotations

import os
import time

try:  # the C module under signal: signal imports enum, dearer than the rest of this start
    _signals = __import__("_signal")
except ImportError:  # not CPython
    _signals = __import__("signal")

VARIABLE = b"AGENTPROC_LIFELINE"
_POLL_S = 0.02
_RESCAN_AFTER_S = 0.1
"""A process forked just before the bridge died may not have reached exec (and so its
environment) at the first look."""


class Entry:
    """One process the bridge started or was about to start."""

    __slots__ = ("grace", "pgid")

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.pgid: int | None = None


def read_entries(fd: int) -> dict[bytes, Entry]:
    """Apply every line read from ``fd`` until end of file; the entries left, by token."""
    entries: dict[bytes, Entry] = {}
    pending = b""
    while chunk := os.read(fd, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            apply_line(entries, line)
    return entries


def apply_line(entries: dict[bytes, Entry], line: bytes) -> None:
    """Apply one line of the protocol above; anything else is ignored."""
    words = line[1:].split()
    try:
        if line.startswith(b"?") and len(words) == 2:
            entries[words[0]] = Entry(float(words[1]))
        elif line.startswith(b"+") and len(words) == 2 and words[0] in entries:
            pgid = int(words[1])
            if pgid > 1:  # killpg(0) or (1) would not mean one process's group
                entries[words[0]].pgid = pgid
        elif line.startswith(b"-") and len(words) == 1:
            entries.pop(words[0], None)
    except ValueError:
        pass  # not from our bridge; nothing sensible to do with it


def groups_to_end(entries: dict[bytes, Entry]) -> dict[int, float]:
    """The groups of ``entries``, with their grace; those not known yet are looked for."""
    groups = {entry.pgid: entry.grace for entry in entries.values() if entry.pgid is not None}
    unstarted = {token: entry.grace for token, entry in entries.items() if entry.pgid is None}
    if unstarted:
        groups.update(find_by_token(unstarted))
        time.sleep(_RESCAN_AFTER_S)
        groups.update(find_by_token(unstarted))
    return groups


def find_by_token(tokens: dict[bytes, float]) -> dict[int, float]:
    """The groups of the processes whose environment holds one of ``tokens``."""
    needles = {b"\0" + VARIABLE + b"=" + token + b"\0": grace for token, grace in tokens.items()}
    found: dict[int, float] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found  # no procfs: only groups known to have started can be ended
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                variables = b"\0" + environ.read()
            for needle, grace in needles.items():
                if needle in variables and (pgid := os.getpgid(int(name))) > 1:
                    found[pgid] = grace
        except OSError:
            continue  # gone, or not ours to read
    return found


def end_groups(groups: dict[int, float]) -> None:
    """SIGTERM to each group, then SIGKILL to those still there after their grace."""
    start = time.monotonic()
    deadlines = {
        pgid: start + grace for pgid, grace in groups.items() if _send(pgid, _signals.SIGTERM)
    }
    while deadlines:
        time.sleep(_POLL_S)
        now = time.monotonic()
        for pgid, deadline in list(deadlines.items()):
            # A group reaped to nothing is gone. Zombies still count (kill(2) finds them):
            # where nobody reaps orphans they make us wait the grace, and SIGKILL is harmless.
            if not _send(pgid, 0):
                del deadlines[pgid]
            elif now >= deadline:
                _send(pgid, _signals.SIGKILL)
                del deadlines[pgid]


def _send(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except OSError:  # gone, or none of its members are ours to signal
        return False
    return True


def main() -> None:
    os.chdir("/")  # hold no directory busy for as long as the bridge runs
    # Ours to outlive nothing, but to end with the bridge and no sooner: a SIGTERM to every
    # process (a service stopping) must not leave the bridge's last turns unwatched.
    _signals.signal(_signals.SIGTERM, _signals.SIG_IGN)
    _signals.signal(_signals.SIGINT, _signals.SIG_IGN)
    end_groups(groups_to_end(read_entries(0)))


if __name__ == "__main__":
    main()
