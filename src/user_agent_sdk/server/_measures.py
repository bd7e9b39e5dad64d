"""What the server counts as it works: plain numbers on its trio thread, always on.

:mod:`user_agent_sdk.metrics` turns them into Prometheus families when ``/metrics`` is
scraped (``useragent server --metrics``); nothing here knows Prometheus.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .._histogram import TIME_BUCKETS, Histogram

COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
"""Upper bounds (seconds) of the commit-time histogram: a commit takes well under a
millisecond on a quiet disk, so the latency buckets would put nearly all in the first."""


class ServerMeasures:
    """The server's running totals since it started. Tasks are counted once the change
    is committed; requests once answered."""

    __slots__ = (
        "commit_time",
        "completed",
        "failed",
        "leased",
        "request_time",
        "requests",
        "timed_out",
        "workflows_started",
    )

    def __init__(self) -> None:
        self.leased: Counter[str] = Counter()
        """Tasks leased, by task type."""
        self.completed: Counter[str] = Counter()
        self.failed: Counter[tuple[str, str]] = Counter()
        """Attempts reported failed, by task type and status (``FAILED``,
        ``FAILED_WITH_TERMINAL_ERROR``)."""
        self.timed_out: Counter[str] = Counter()
        """Leases that ran out with no result."""
        self.workflows_started: Counter[str] = Counter()
        """By workflow name."""
        self.requests: Counter[tuple[str, str, int]] = Counter()
        """Requests answered, by method, route (its path template) and status."""
        self.request_time: defaultdict[tuple[str, str], Histogram] = defaultdict(
            lambda: Histogram(TIME_BUCKETS)
        )
        """By method and route; a long poll counts its wait."""
        self.commit_time = Histogram(COMMIT_BUCKETS)
        """Each group commit: one transaction for every write of one scheduling round."""
