"""The worker's metrics: what a :class:`~user_agent_sdk.runtime.Runtime` has counted.

Names and labels follow conductor-python 2.x's canonical metrics where it measures the
same thing (``task_poll_total``, ``task_poll_time_seconds``, ... with the ``taskType``,
``status`` and ``exception`` labels), so dashboards built for it read ours unchanged.
What it has no measure for is named ``useragent_*``. The families are built from the
runtime's own counters when scraped: serving them costs the runtime nothing between
scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._families import by_error, counter, gauge, histogram

if TYPE_CHECKING:
    from ..runtime import Runtime

TASK_TYPE = "taskType"


class WorkerCollector(Collector):
    """Collects a runtime's metrics; register it with a ``CollectorRegistry``.

    Call :meth:`collect` on the runtime's trio thread (the endpoint of
    :func:`~user_agent_sdk.metrics.serve_worker_probes` does): the counts it reads are
    written there.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runners = [(runner.agent.agent_id, runner) for runner in self._runtime.runners]
        measures = [((kind,), runner.measures) for kind, runner in runners]
        by_type = [(TASK_TYPE,), (TASK_TYPE, "status"), (TASK_TYPE, "exception")]
        one, with_status, with_error = by_type

        yield counter(
            "task_poll",
            "Poll requests made (each asks for one or more tasks)",
            one,
            ((k, m.polls) for k, m in measures),
        )
        yield counter(
            "task_poll_error",
            "Poll requests that failed, by error class",
            with_error,
            (row for k, m in measures for row in by_error(k, m.poll_errors)),
        )
        yield histogram(
            "task_poll_time_seconds",
            "Latency of poll requests in seconds (long polls wait for work)",
            with_status,
            (((*k, s), h) for k, m in measures for s, h in m.poll_time.by_status().items()),
        )
        yield counter(
            "task_execution_started",
            "Tasks handed to the handler",
            one,
            ((k, m.started) for k, m in measures),
        )
        yield histogram(
            "task_execute_time_seconds",
            "Duration of handler calls in seconds; status SUCCESS when the task completed",
            with_status,
            (((*k, s), h) for k, m in measures for s, h in m.execute_time.by_status().items()),
        )
        yield counter(
            "task_execute_error",
            "Handler calls that raised, by exception class",
            with_error,
            (row for k, m in measures for row in by_error(k, m.execute_errors)),
        )
        yield histogram(
            "task_update_time_seconds",
            "Latency of requests that carry results (update, update-v2, update-batch)",
            with_status,
            (((*k, s), h) for k, m in measures for s, h in m.update_time.by_status().items()),
        )
        yield counter(
            "task_update_error",
            "Requests carrying results that failed, by error class (they are retried)",
            with_error,
            (row for k, m in measures for row in by_error(k, m.update_errors)),
        )
        yield histogram(
            "task_result_size_bytes",
            "Encoded size of each task result in bytes",
            one,
            ((k, m.result_size) for k, m in measures),
        )
        yield gauge(
            "active_workers",
            "Tasks whose handler is running now",
            one,
            (((kind,), runner.running) for kind, runner in runners),
        )
        yield counter(
            "useragent_tasks_finished",
            "Tasks finished, by the status reported: COMPLETED, FAILED, "
            "FAILED_WITH_TERMINAL_ERROR, or HANDED_BACK (returned unstarted while stopping)",
            with_status,
            (
                ((kind, status), count)
                for kind, runner in runners
                for status, count in (
                    ("COMPLETED", runner.stats.completed),
                    ("FAILED", runner.stats.failed),
                    ("FAILED_WITH_TERMINAL_ERROR", runner.stats.failed_terminal),
                    ("HANDED_BACK", runner.stats.handed_back),
                )
            ),
        )
        yield counter(
            "useragent_tasks_leased",
            "Tasks the server leased to this worker",
            one,
            ((k, m.tasks_leased) for k, m in measures),
        )
        yield counter(
            "useragent_results_sent",
            "Results the server accepted",
            one,
            ((k, m.results_sent) for k, m in measures),
        )
        yield counter(
            "useragent_results_undelivered",
            "Results given up on at shutdown; the server hands those tasks out again",
            one,
            (((kind,), runner.undelivered) for kind, runner in runners),
        )
        yield gauge(
            "useragent_tasks_buffered",
            "Tasks leased and waiting for a free worker slot",
            one,
            (((kind,), runner.buffered) for kind, runner in runners),
        )
        yield gauge(
            "useragent_worker_slots",
            "Worker slots (tasks the agent runs at once)",
            one,
            (((kind,), runner.agent.workers) for kind, runner in runners),
        )
        yield counter(
            "useragent_lease_renewals",
            "Leases of long-running tasks renewed",
            one,
            ((k, m.lease_renewals) for k, m in measures),
        )
        yield counter(
            "useragent_lease_renewal_error",
            "Lease renewals that failed, by error class",
            with_error,
            (row for k, m in measures for row in by_error(k, m.lease_renewal_errors)),
        )
        client = self._runtime.client
        yield counter(
            "useragent_token_fetches",
            "Access tokens fetched from the server (the first and every renewal)",
            (),
            [((), 0 if client is None else client.tokens_fetched)],
        )
        yield counter(
            "useragent_token_fetch_error",
            "Token requests that failed",
            (),
            [((), 0 if client is None else client.token_fetch_errors)],
        )
        not_ready = self._runtime.not_ready()
        yield gauge(
            "useragent_agent_ready",
            "1 when the agent's last poll got an answer, else 0 (see /readyz for why)",
            one,
            (
                ((agent.agent_id,), agent.agent_id not in not_ready)
                for agent in self._runtime.agents
            ),
        )
