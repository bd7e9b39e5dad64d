"""The sampler counts the CPU and memory of a whole session, grandchildren included."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

# benchmarks/ is not an installed package: the harness runs as a script beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from peers.processes import stop_session
from peers.proctree import TreeSampler

# A parent that starts a child which burns 0.6 s of CPU (however long that takes on a
# loaded machine), then both wait to be stopped.
_BURN = "import time\\nwhile time.process_time() < 0.6: pass\\ntime.sleep(60)"
_TREE = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "{_BURN}"])
time.sleep(60)
"""


def test_sampler_sees_the_cpu_of_a_grandchild_and_stop_ends_the_session() -> None:
    process = subprocess.Popen([sys.executable, "-c", _TREE], start_new_session=True)
    sampler = TreeSampler(process.pid, interval=0.02)
    try:
        deadline = time.monotonic() + 30
        while sampler.total_cpu_s < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sampler.total_cpu_s >= 0.4
        assert max(sample.processes for sample in sampler.samples) == 2
        assert sampler.peak_rss_bytes > 1024 * 1024
        middle = sampler.samples[len(sampler.samples) // 2].at
        assert 0 <= sampler.cpu_at(middle) <= sampler.total_cpu_s
    finally:
        stop_session(process, grace_s=5)
        sampler.stop()
    assert process.returncode is not None
    assert sampler.samples[-1].processes == 0  # the grandchild went with the group
