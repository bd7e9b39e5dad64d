"""Prometheus metrics and health probes for workers and the embedded server.

A worker started with ``Settings(metrics_port=...)`` (``useragent run --metrics-port``)
serves ``/metrics``, ``/healthz`` and ``/readyz`` (:func:`serve_worker_probes`); a server
started with ``ServerConfig(metrics=True)`` (``useragent server --metrics``) adds
``/metrics`` to its own port. The runtime and the server count as they work; the metric
families are built from those counts when scraped.
"""

from ._probes import metrics_response, serve_worker_probes, server_registry, worker_registry
from ._server import ServerCollector
from ._worker import WorkerCollector

__all__ = [
    "ServerCollector",
    "WorkerCollector",
    "metrics_response",
    "serve_worker_probes",
    "server_registry",
    "worker_registry",
]
