"""The worker's metrics: what a :class:`~user_agent_sdk.runtime.Runtime` has counted.

Names and labels follow conductor-python 2.x's canonical metrics where it measures the
same thing (``task_poll_total``, ``task_poll_time_seconds``, ... with the ``taskType``,
``status`` and ``exception`` labels), so dashboards built for it read ours unchanged.
What it has no measure for is named ``useragent_*``. The families are built from the
runtime's own counters when scraped: serving them costs the runtime nothing between
scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._families import by_error, counter, gauge, histogram

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..runtime._agent import AgentRunner
    from ..runtime._measures import AgentMeasures, Timed

TASK_TYPE = "taskType"

Rows = Callable[[str, "AgentRunner"], Iterable[tuple[Sequence[str], Any]]]
"""An agent's samples of one family: its label values and value (a number or a histogram)."""


class Family(NamedTuple):
    """A metric family with one series (or more) per agent: ``kind`` (:func:`counter`,
    :func:`gauge` or :func:`histogram`) builds it from each agent's ``rows``."""

    kind: Callable[[str, str, Sequence[str], Iterable[tuple[Sequence[str], Any]]], Metric]
    name: str
    labels: tuple[str, ...]
    rows: Rows
    documentation: str


def _count(read: Callable[[AgentMeasures], Any]) -> tuple[tuple[str, ...], Rows]:
    """One series per agent: its task type, and what ``read`` takes from its measures."""
    return (TASK_TYPE,), lambda kind, runner: [((kind,), read(runner.measures))]


def _of_runner(read: Callable[[AgentRunner], float]) -> tuple[tuple[str, ...], Rows]:
    """One series per agent, read from the agent's runner."""
    return (TASK_TYPE,), lambda kind, runner: [((kind,), read(runner))]


def _by_error(read: Callable[[AgentMeasures], Mapping[str, int]]) -> tuple[tuple[str, ...], Rows]:
    """One series per agent and error class (the ``exception`` label)."""
    return (TASK_TYPE, "exception"), lambda kind, runner: by_error((kind,), read(runner.measures))


def _by_status(read: Callable[[AgentMeasures], Timed]) -> tuple[tuple[str, ...], Rows]:
    """One histogram per agent and status (``SUCCESS``, ``FAILURE``)."""
    return (TASK_TYPE, "status"), lambda kind, runner: [
        ((kind, status), counts) for status, counts in read(runner.measures).by_status().items()
    ]


def _finished(runner: AgentRunner) -> Iterable[tuple[str, int]]:
    stats = runner.stats
    yield "COMPLETED", stats.completed
    yield "FAILED", stats.failed
    yield "FAILED_WITH_TERMINAL_ERROR", stats.failed_terminal
    yield "HANDED_BACK", stats.handed_back


_FINISHED: tuple[tuple[str, ...], Rows] = (
    (TASK_TYPE, "status"),
    lambda kind, runner: [((kind, status), count) for status, count in _finished(runner)],
)

PER_AGENT: tuple[Family, ...] = (
    Family(counter, "task_poll", *_count(lambda m: m.polls),
     "Poll requests made (each asks for one or more tasks)"),
    Family(counter, "task_poll_error", *_by_error(lambda m: m.poll_errors),
     "Poll requests that failed, by error class"),
    Family(histogram, "task_poll_time_seconds", *_by_status(lambda m: m.poll_time),
     "Latency of poll requests in seconds (long polls wait for work)"),
    Family(counter, "task_execution_started", *_count(lambda m: m.started),
     "Tasks handed to the handler"),
    Family(histogram, "task_execute_time_seconds", *_by_status(lambda m: m.execute_time),
     "Duration of handler calls in seconds; status SUCCESS when the task completed"),
    Family(counter, "task_execute_error", *_by_error(lambda m: m.execute_errors),
     "Handler calls that raised, by exception class"),
    Family(histogram, "task_update_time_seconds", *_by_status(lambda m: m.update_time),
     "Latency of requests that carry results (update, update-v2, update-batch)"),
    Family(counter, "task_update_error", *_by_error(lambda m: m.update_errors),
     "Requests carrying results that failed, by error class (they are retried)"),
    Family(histogram, "task_result_size_bytes", *_count(lambda m: m.result_size),
     "Encoded size of each task result in bytes"),
    Family(gauge, "active_workers", *_of_runner(lambda r: r.running),
     "Tasks whose handler is running now"),
    Family(counter, "useragent_tasks_finished", *_FINISHED,
     "Tasks finished, by the status reported: COMPLETED, FAILED, "
     "FAILED_WITH_TERMINAL_ERROR, or HANDED_BACK (returned unstarted while stopping)"),
    Family(counter, "useragent_tasks_leased", *_count(lambda m: m.tasks_leased),
     "Tasks the server leased to this worker"),
    Family(counter, "useragent_results_sent", *_count(lambda m: m.results_sent),
     "Results the server accepted"),
    Family(counter, "useragent_results_undelivered", *_of_runner(lambda r: r.undelivered),
     "Results given up on at shutdown; the server hands those tasks out again"),
    Family(gauge, "useragent_tasks_buffered", *_of_runner(lambda r: r.buffered),
     "Tasks leased and waiting for a free worker slot"),
    Family(gauge, "useragent_worker_slots", *_of_runner(lambda r: r.agent.workers),
     "Worker slots (tasks the agent runs at once)"),
    Family(counter, "useragent_lease_renewals", *_count(lambda m: m.lease_renewals),
     "Leases of long-running tasks renewed"),
    Family(counter, "useragent_lease_renewal_error", *_by_error(lambda m: m.lease_renewal_errors),
     "Lease renewals that failed, by error class"),
)  # fmt: skip
"""The families with a series per agent, in the order they are exposed."""


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
        for family in PER_AGENT:
            rows = (row for kind, runner in runners for row in family.rows(kind, runner))
            yield family.kind(family.name, family.documentation, family.labels, rows)
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
            (TASK_TYPE,),
            (
                ((agent.agent_id,), agent.agent_id not in not_ready)
                for agent in self._runtime.agents
            ),
        )
