"""CPU time and resident memory of a contender's whole process tree, sampled from /proc.

A contender is started as the leader of a new session, so every process it starts (worker
processes, a logging process, spawn helpers) carries its session id, even after its parent
exits. :class:`TreeSampler` reads ``/proc`` every ``interval`` seconds on a thread and keeps
a time series of (wall clock, CPU seconds so far, resident bytes now), which lets the
harness read the CPU used between two instants the server recorded (its clock is the same
wall clock) rather than the CPU of start-up and shutdown.

Limits, stated so the figures can be judged: a process that starts and ends between two
scans of /proc (0.5 s) is missed (a helper, not a worker); CPU a process used after its
last sample is lost with it, which only touches shutdown.
"""

from __future__ import annotations

import bisect
import os
import threading
import time

import attrs

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@attrs.frozen
class Sample:
    """One reading of the tree: ``at`` is ``time.time()``."""

    at: float
    cpu_s: float
    """utime + stime of every process of the tree, as last seen, since each started."""
    rss_bytes: int
    """Resident memory of the processes alive at ``at``, summed."""
    processes: int


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as file:  # cheaper than pathlib, many times a second
            return file.read().decode()
    except OSError:  # the process ended
        return None


def _stat_fields(pid: str) -> list[str] | None:
    text = _read(f"/proc/{pid}/stat")
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    return None if text is None else text.rsplit(")", 1)[1].split()


def _rss_bytes(pid: str) -> int:
    text = _read(f"/proc/{pid}/statm")
    return 0 if text is None else int(text.split()[1]) * _PAGE


class TreeSampler:
    """Samples the session led by ``leader`` until :meth:`stop`; safe to read meanwhile.

    Every ``interval`` it reads the processes it knows; every ``rescan`` seconds it lists
    /proc for new members of the session (that listing is the costly part, and new
    processes appear at start-up, not while tasks flow).
    """

    def __init__(self, leader: int, interval: float = 0.02, rescan: float = 0.5) -> None:
        self._session = str(leader)
        self._interval = interval
        self._rescan = rescan
        self._members: set[str] = {str(leader)}
        self._scanned_at = 0.0
        self._cpu_by_pid: dict[str, float] = {}
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.sample()
            self._stopping.wait(self._interval)

    def _scan(self) -> None:
        for pid in os.listdir("/proc"):
            if pid.isdigit() and pid not in self._members:
                fields = _stat_fields(pid)
                # fields[3] is the session id (field 6 of stat, counting pid and comm).
                if fields is not None and fields[3] == self._session:
                    self._members.add(pid)
        self._scanned_at = time.monotonic()

    def sample(self) -> Sample:
        """Read the tree now and record it."""
        if time.monotonic() - self._scanned_at >= self._rescan:
            self._scan()
        rss = 0
        alive = 0
        for pid in list(self._members):
            fields = _stat_fields(pid)
            if fields is None or fields[3] != self._session:  # ended (or its pid reused)
                self._members.discard(pid)
                continue
            self._cpu_by_pid[pid] = (int(fields[11]) + int(fields[12])) / _TICK
            if fields[0] == "Z":  # ended, not yet reaped: its CPU is final, it holds no memory
                self._members.discard(pid)
                continue
            alive += 1
            rss += _rss_bytes(pid)
        found = Sample(time.time(), sum(self._cpu_by_pid.values()), rss, alive)
        with self._lock:
            self._samples.append(found)
        return found

    def stop(self) -> None:
        """Take a last sample and stop the thread."""
        self._stopping.set()
        self._thread.join()
        self.sample()

    @property
    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def cpu_at(self, at: float) -> float:
        """CPU seconds of the tree at wall-clock ``at``, interpolated between samples."""
        samples = self.samples
        if not samples:
            return 0.0
        times = [sample.at for sample in samples]
        index = bisect.bisect_left(times, at)
        if index == 0:
            return samples[0].cpu_s
        if index == len(samples):
            return samples[-1].cpu_s
        before, after = samples[index - 1], samples[index]
        span = after.at - before.at
        share = (at - before.at) / span if span > 0 else 1.0
        return before.cpu_s + (after.cpu_s - before.cpu_s) * share

    def cpu_between(self, start: float, end: float) -> float:
        return max(0.0, self.cpu_at(end) - self.cpu_at(start))

    @property
    def peak_rss_bytes(self) -> int:
        return max((sample.rss_bytes for sample in self.samples), default=0)

    @property
    def total_cpu_s(self) -> float:
        samples = self.samples
        return samples[-1].cpu_s if samples else 0.0
