"""What the runtime counts as it works: plain numbers, read by whoever exposes them.

Recording is a few integer additions on the runtime's trio thread, cheap enough to be
always on; nothing here knows Prometheus. :mod:`user_agent_sdk.metrics` turns these
numbers into metric families when ``/metrics`` is scraped.
"""

from __future__ import annotations

from collections import Counter

from .._histogram import SIZE_BUCKETS, TIME_BUCKETS, Histogram


class Timed:
    """A latency histogram per outcome, as conductor-python labels them: ``SUCCESS``
    and ``FAILURE``."""

    __slots__ = ("failure", "success")

    def __init__(self) -> None:
        self.success = Histogram(TIME_BUCKETS)
        self.failure = Histogram(TIME_BUCKETS)

    def by_status(self) -> dict[str, Histogram]:
        return {"SUCCESS": self.success, "FAILURE": self.failure}


def error_label(error: BaseException | str) -> str:
    """The ``exception`` label of an error: its class name, never its message (which would
    make a new time series per task id or URL)."""
    return error if isinstance(error, str) else type(error).__name__


class AgentMeasures:
    """One agent's running totals since the runtime started.

    Only the runtime's trio thread writes them; readers on that thread see a consistent
    state.
    """

    __slots__ = (
        "execute_errors",
        "execute_time",
        "lease_renewal_errors",
        "lease_renewals",
        "poll_errors",
        "poll_time",
        "polls",
        "result_size",
        "results_sent",
        "started",
        "tasks_leased",
        "update_errors",
        "update_time",
    )

    def __init__(self) -> None:
        self.polls = 0
        """Poll requests made (each asks for one or more tasks)."""
        self.poll_errors: Counter[str] = Counter()
        """Failed polls, by error class."""
        self.poll_time = Timed()
        self.tasks_leased = 0
        """Tasks the server leased to this agent, by polls and by update requests."""
        self.started = 0
        """Handler calls begun."""
        self.execute_time = Timed()
        """Handler time, by whether the task completed."""
        self.execute_errors: Counter[str] = Counter()
        """Handlers that raised, by exception class."""
        self.result_size = Histogram(SIZE_BUCKETS)
        """Encoded size of each result, as sent."""
        self.update_time = Timed()
        """Requests that carried results (update, update-v2, update-batch)."""
        self.update_errors: Counter[str] = Counter()
        self.results_sent = 0
        """Results the server accepted."""
        self.lease_renewals = 0
        self.lease_renewal_errors: Counter[str] = Counter()

    def polled(self, seconds: float, leased: int) -> None:
        self.polls += 1
        self.poll_time.success.observe(seconds)
        self.tasks_leased += leased

    def poll_failed(self, seconds: float, error: BaseException) -> None:
        self.polls += 1
        self.poll_time.failure.observe(seconds)
        self.poll_errors[error_label(error)] += 1

    def updated(self, seconds: float, results: int, leased: int = 0) -> None:
        self.update_time.success.observe(seconds)
        self.results_sent += results
        self.tasks_leased += leased

    def update_failed(self, seconds: float, error: BaseException) -> None:
        self.update_time.failure.observe(seconds)
        self.update_errors[error_label(error)] += 1

    def renewed(self, error: BaseException | None = None) -> None:
        if error is None:
            self.lease_renewals += 1
        else:
            self.lease_renewal_errors[error_label(error)] += 1
