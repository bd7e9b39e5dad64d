"""What metrics cost the worker: recording per task, and one scrape of ``/metrics``.

1. Recording: the counts a runtime keeps for each task (handler begun, handler time,
   result size) and for each request carrying results, timed with ``timeit`` over a
   million calls.
2. A scrape: a runtime serving N agents (1, 10, 50) against an embedded server in the
   same process, each agent having run tasks, so that every family has its samples;
   ``/metrics`` is fetched over loopback and timed end to end (median of 50), and the
   part spent building and encoding the families on the runtime's trio thread is timed
   alone.

Usage: ``python benchmarks/metrics_scrape.py``. Throughput with and without
``--metrics-port`` is ``bench_peers.py --workloads noop --contenders ours,ours-metrics``.
"""

from __future__ import annotations

import logging
import statistics
import time
import timeit

import attrs
import httpx
import trio
from prometheus_client.exposition import generate_latest

from user_agent_sdk import Registry, Settings, register_user_agent
from user_agent_sdk.metrics import worker_registry
from user_agent_sdk.runtime import Runtime, serve
from user_agent_sdk.runtime._measures import AgentMeasures
from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig
from user_agent_sdk.server import serve as serve_tasks

SCRAPES = 50


def recording_ns() -> tuple[float, float]:
    """Nanoseconds of bookkeeping per task, and per request that carries results."""
    measures = AgentMeasures()

    def per_task() -> None:
        measures.started += 1
        measures.execute_time.success.observe(0.0003)
        measures.result_size.observe(180)

    calls = 1_000_000
    task = timeit.timeit(per_task, number=calls) / calls
    request = timeit.timeit(lambda: measures.updated(0.002, 32, 32), number=calls) / calls
    return task * 1e9, request * 1e9


def done() -> dict[str, bool]:
    return {"done": True}


@attrs.frozen
class Scrape:
    fetched_ms: float
    """A scrape over loopback, end to end."""
    read_ms: float
    """Reading the counts into families, on the runtime's trio thread."""
    built_ms: float
    """Reading and encoding them (the encoding runs on a worker thread when served)."""
    size: int
    samples: int


async def scrape_times(agents: int) -> Scrape:
    """Medians of :data:`SCRAPES` scrapes of a runtime serving ``agents`` agents."""
    registry = Registry()
    for n in range(agents):
        register_user_agent(done, registry=registry, agent_id=f"agent-{n}", poll_interval=100)
    async with trio.open_nursery() as nursery:
        server: RunningServer = await nursery.start(serve_tasks, ServerConfig(port=0, db=MEMORY))
        settings = Settings(api_url=server.api_url, metrics_port=0)
        runtime: Runtime = await nursery.start(serve, settings, registry)
        async with httpx.AsyncClient(base_url=server.api_url, timeout=30) as api:
            for n in range(agents):
                for _ in range(3):
                    (await api.post(f"/workflow/agent-{n}", json={})).raise_for_status()
            while runtime.stats().completed < 3 * agents:
                await trio.sleep(0.05)
        url = f"http://127.0.0.1:{runtime.metrics_port}/metrics"
        fetched: list[float] = []
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(SCRAPES):
                started = time.perf_counter()
                body = (await http.get(url)).content
                fetched.append(time.perf_counter() - started)
        families = worker_registry(runtime)
        read: list[float] = []
        built: list[float] = []
        for _ in range(SCRAPES):
            started = time.perf_counter()
            snapshot = list(families.collect())
            read.append(time.perf_counter() - started)
            generate_latest(families)
            built.append(time.perf_counter() - started)
        runtime.stop()
        await runtime.wait_stopped()
        nursery.cancel_scope.cancel()
    samples = sum(len(family.samples) for family in snapshot)
    return Scrape(
        statistics.median(fetched) * 1e3,
        statistics.median(read) * 1e3,
        statistics.median(built) * 1e3,
        len(body),
        samples,
    )


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    task_ns, request_ns = recording_ns()
    print(f"recording: {task_ns:.0f} ns per task, {request_ns:.0f} ns per result request")
    for agents in (1, 10, 50):
        found = trio.run(scrape_times, agents)
        print(
            f"scrape, {agents} agents: {found.fetched_ms:.1f} ms over loopback; reading the "
            f"counts {found.read_ms:.1f} ms on the runtime's thread, encoding "
            f"{found.built_ms - found.read_ms:.1f} ms; {found.samples:,} samples, "
            f"{found.size:,} bytes"
        )


if __name__ == "__main__":
    main()
