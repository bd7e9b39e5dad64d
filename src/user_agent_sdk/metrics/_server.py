"""The embedded server's metrics (``useragent server --metrics``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._families import counter, gauge, histogram

if TYPE_CHECKING:
    from ..server._engine import TaskEngine

TASK_TYPE = ("taskType",)


class ServerCollector(Collector):
    """Collects a task engine's metrics: what it has counted, and the queues and
    database as they are when scraped. Call :meth:`collect` on the server's trio thread."""

    def __init__(self, engine: TaskEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        measures = self._engine.measures
        queued, leased_now = self._engine.tasks_by_state()
        database, wal = self._engine.database_sizes()
        method_route = ("method", "route")
        for kind, name, labels, counts, documentation in (
            (gauge, "useragent_server_queue_depth", TASK_TYPE, queued,
             "Tasks waiting in their queue (including those scheduled for later)"),
            (gauge, "useragent_server_tasks_in_progress", TASK_TYPE, leased_now,
             "Tasks leased to a worker now"),
            (counter, "useragent_server_tasks_leased", TASK_TYPE, measures.leased,
             "Tasks leased to workers (each attempt, each lease)"),
            (counter, "useragent_server_tasks_completed", TASK_TYPE, measures.completed,
             "Attempts reported COMPLETED"),
            (counter, "useragent_server_tasks_failed", (*TASK_TYPE, "status"), measures.failed,
             "Attempts reported FAILED or FAILED_WITH_TERMINAL_ERROR"),
            (counter, "useragent_server_tasks_timed_out", TASK_TYPE, measures.timed_out,
             "Leases that ran out with no result"),
            (counter, "useragent_server_workflows_started", ("workflowType",),
             measures.workflows_started, "Workflows started, by name"),
            (counter, "useragent_server_requests", (*method_route, "status"), measures.requests,
             "Requests answered, by method, route (its path template) and status"),
            (histogram, "useragent_server_request_duration_seconds", method_route,
             measures.request_time,
             "Time to answer a request, by method and route (long polls include their wait)"),
            (histogram, "useragent_server_commit_duration_seconds", (),
             {(): measures.commit_time},
             "Time of each database commit (one per scheduling round of writes)"),
            (gauge, "useragent_server_database_bytes", (), {(): database},
             "Size of the database file"),
            (gauge, "useragent_server_wal_bytes", (), {(): wal},
             "Size of the database's write-ahead log (checkpoints move it into the file)"),
        ):  # fmt: skip
            yield kind(name, documentation, labels, _by_key(counts))


def _by_key(values: Mapping[Any, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """One row per key, in key order: its label values (a tuple key gives several) and
    its value."""
    for key, value in sorted(values.items()):
        yield tuple(map(str, key)) if isinstance(key, tuple) else (str(key),), value
