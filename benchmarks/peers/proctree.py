"""CPU time and resident memory of a contender's whole process tree, sampled from /proc.

A contender is started as the leader of a new session, so every process it starts (worker
processes, a logging process, spawn helpers) carries its session id, even after its parent
exits. :class:`TreeSampler` reads ``/proc`` every ``interval`` seconds on a thread and keeps
a time series of (wall clock, CPU seconds so far, resident bytes now), which lets the
harness read the CPU used between two instants the server recorded (its clock is the same
wall clock) rather than the CPU of start-up and shutdown.

Limits, stated so the figures can be judged: a process that starts and ends between two
samples is missed (at the default 20 ms that is a helper, not a worker); CPU a process used
after its last sample is lost with it, which only touches shutdown.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from pathlib import Path

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


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # ended between listing /proc and reading it
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    return text.rsplit(")", 1)[1].split()


def _rss_bytes(pid: str) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler:
    """Samples the session led by ``leader`` until :meth:`stop`; safe to read meanwhile."""

    def __init__(self, leader: int, interval: float = 0.02) -> None:
        self._session = str(leader)
        self._interval = interval
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

    def sample(self) -> Sample:
        """Read the tree now and record it."""
        rss = 0
        alive = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            fields = _stat_fields(pid)
            # fields[3] is the session id (field 6 of stat, counting pid and comm).
            if fields is None or fields[3] != self._session:
                continue
            alive += 1
            self._cpu_by_pid[pid] = (int(fields[11]) + int(fields[12])) / _TICK
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
