"""The embedded server's metrics (``useragent server --metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

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
        yield gauge(
            "useragent_server_queue_depth",
            "Tasks waiting in their queue (including those scheduled for later)",
            TASK_TYPE,
            (((kind,), count) for kind, count in sorted(queued.items())),
        )
        yield gauge(
            "useragent_server_tasks_in_progress",
            "Tasks leased to a worker now",
            TASK_TYPE,
            (((kind,), count) for kind, count in sorted(leased_now.items())),
        )
        yield counter(
            "useragent_server_tasks_leased",
            "Tasks leased to workers (each attempt, each lease)",
            TASK_TYPE,
            (((kind,), count) for kind, count in sorted(measures.leased.items())),
        )
        yield counter(
            "useragent_server_tasks_completed",
            "Attempts reported COMPLETED",
            TASK_TYPE,
            (((kind,), count) for kind, count in sorted(measures.completed.items())),
        )
        yield counter(
            "useragent_server_tasks_failed",
            "Attempts reported FAILED or FAILED_WITH_TERMINAL_ERROR",
            (*TASK_TYPE, "status"),
            (((kind, status), count) for (kind, status), count in sorted(measures.failed.items())),
        )
        yield counter(
            "useragent_server_tasks_timed_out",
            "Leases that ran out with no result",
            TASK_TYPE,
            (((kind,), count) for kind, count in sorted(measures.timed_out.items())),
        )
        yield counter(
            "useragent_server_workflows_started",
            "Workflows started, by name",
            ("workflowType",),
            (((name,), count) for name, count in sorted(measures.workflows_started.items())),
        )
        yield counter(
            "useragent_server_requests",
            "Requests answered, by method, route (its path template) and status",
            ("method", "route", "status"),
            (
                ((method, route, str(status)), count)
                for (method, route, status), count in sorted(measures.requests.items())
            ),
        )
        yield histogram(
            "useragent_server_request_duration_seconds",
            "Time to answer a request, by method and route (long polls include their wait)",
            ("method", "route"),
            (
                ((method, route), times)
                for (method, route), times in sorted(measures.request_time.items())
            ),
        )
        yield histogram(
            "useragent_server_commit_duration_seconds",
            "Time of each database commit (one per scheduling round of writes)",
            (),
            [((), measures.commit_time)],
        )
        database, wal = self._engine.database_sizes()
        yield gauge(
            "useragent_server_database_bytes", "Size of the database file", (), [((), database)]
        )
        yield gauge(
            "useragent_server_wal_bytes",
            "Size of the database's write-ahead log (checkpoints move it into the file)",
            (),
            [((), wal)],
        )
