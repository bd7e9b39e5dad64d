"""Run a worker command with ``--metrics-port`` while a scraper reads its ``/metrics``.

``python scraped.py --every SECONDS -- useragent run agent.py -w 32`` picks a free port,
starts a scraper in a process of its own session (so that the benchmark, which samples
the worker's process tree, counts only what serving metrics costs the worker, as with a
Prometheus server elsewhere), then becomes the command with ``--metrics-port PORT``
added. The scraper reads ``/metrics`` every ``SECONDS`` until the worker stops
answering, then prints to stderr how many scrapes it made, their median time and size.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
import urllib.request

GIVE_UP_S = 60.0
"""A scraper that has not reached the worker in this long stops."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str, every: float) -> None:
    """Scrape ``url`` every ``every`` seconds until it fails after having answered."""
    timings: list[float] = []
    size = 0
    began = time.monotonic()
    while True:
        time.sleep(every)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                size = len(answer.read())
        except OSError:
            if timings or time.monotonic() - began > GIVE_UP_S:
                break
            continue
        timings.append(time.perf_counter() - started)
    if timings:
        median_ms = statistics.median(timings) * 1e3
        print(
            f"scraped.py: {len(timings)} scrapes, median {median_ms:.1f} ms, {size} bytes",
            file=sys.stderr,
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--every", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    port = free_port()
    if os.fork() == 0:
        # Detached twice over: a session of its own, and no parent in the worker's tree.
        os.setsid()
        if os.fork() == 0:
            scrape(f"http://127.0.0.1:{port}/metrics", args.every)
        os._exit(0)
    os.wait()
    os.execv(command[0], [*command, "--metrics-port", str(port)])


if __name__ == "__main__":
    main()
