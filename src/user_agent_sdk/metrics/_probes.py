"""The worker's probe endpoint: ``/metrics``, ``/healthz`` and ``/readyz`` on one port."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import trio
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from ..transport import Handler, HTTPError, HTTPLimits, Request, Response, serve_http
from ._server import ServerCollector
from ._worker import WorkerCollector

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..server._engine import TaskEngine

log = logging.getLogger("user_agent_sdk.metrics")

PROBE_LIMITS = HTTPLimits(max_body_bytes=64 * 1024, idle_timeout=120.0, max_connections=64)
"""Scrapers and probes send no bodies and need few connections."""


def worker_registry(runtime: Runtime) -> CollectorRegistry:
    """A registry of the runtime's metrics and the process's own (CPU, memory, open files,
    garbage collections, Python version)."""
    return _with_process_metrics(WorkerCollector(runtime))


def server_registry(engine: TaskEngine) -> CollectorRegistry:
    """A registry of the task server's metrics and the process's own."""
    return _with_process_metrics(ServerCollector(engine))


def _with_process_metrics(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class _Snapshot(Collector):
    """Metric families already collected, for an encoder to write out."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


async def metrics_response(registry: CollectorRegistry, request: Request) -> Response:
    """The registry's metrics in the format the scraper asks for (OpenMetrics when its
    ``Accept`` header prefers it, else the Prometheus text format).

    The values are read on the calling (trio) thread, where they are written, so that
    they are consistent; writing them out, which costs more, happens on a worker thread.
    """
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    snapshot = _Snapshot(list(registry.collect()))
    body = await trio.to_thread.run_sync(encoder, snapshot)
    return Response(200, body, content_type)


def readiness_response(not_ready: dict[str, str]) -> Response:
    """200 when nothing is in ``not_ready`` (reasons by agent id), else 503 naming each."""
    if not not_ready:
        return Response.json({"ready": True})
    return Response.json({"ready": False, "not_ready": not_ready}, status=503)


def probe_handler(registry: CollectorRegistry, not_ready: Callable[[], dict[str, str]]) -> Handler:
    """The HTTP handler of the probe endpoint."""

    async def handle(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise HTTPError(405, f"{request.method} is not allowed on {request.path}")
        match request.path:
            case "/metrics":
                return await metrics_response(registry, request)
            case "/healthz":
                return Response.json({"alive": True})
            case "/readyz":
                return readiness_response(not_ready())
        raise HTTPError(404, f"no such endpoint: {request.path} (try /metrics, /healthz, /readyz)")

    return handle


async def serve_worker_probes(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``runtime``'s probes on ``host:port`` until cancelled.

    ``task_status.started`` gets the bound port. ``/metrics``: the runtime's metrics;
    ``/healthz``: 200 while the runtime's trio thread answers; ``/readyz``: 200 once every
    agent's last poll got an answer, else 503 with ``{"ready": false, "not_ready":
    {agent id: why}}``. Raises :class:`OSError` when the port cannot be bound.
    """
    handle = probe_handler(worker_registry(runtime), runtime.not_ready)
    await serve_http(handle, host, port, PROBE_LIMITS, task_status=task_status)
