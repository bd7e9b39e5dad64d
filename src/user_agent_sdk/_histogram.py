"""A histogram of observed values, and the bucket bounds every histogram of ours uses.

Plain numbers, shared by the runtime's and the server's measures; nothing here knows
Prometheus.
"""

from __future__ import annotations

from bisect import bisect_left

TIME_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the latency histograms: conductor-python's, so that
dashboards built on its histograms read ours unchanged."""
SIZE_BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
"""Upper bounds (bytes) of the size histograms: conductor-python's."""


class Histogram:
    """Counts of observed values by bucket, and their sum.

    ``counts[i]`` counts values ``<= bounds[i]`` and ``> bounds[i - 1]``; the last entry
    counts values past every bound (Prometheus' ``+Inf`` bucket).
    """

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, values at most that)`` for each bound, then ``(inf, count)``."""
        total = 0
        buckets: list[tuple[float, int]] = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            buckets.append((bound, total))
        return buckets
