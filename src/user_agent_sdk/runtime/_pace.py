"""How many tasks to hold in reserve, from how long handlers take and requests round-trip."""

from __future__ import annotations

_WEIGHT = 0.1
"""Of each new sample in the moving averages: about the last 10-20 samples count."""
ROUND_TRIPS_COVERED = 4.0
"""The reserve covers the slots that free up during this many round trips: a result
waits for the request in flight, then makes its own trip, before its replacement is in;
tasks asked for count as held from the moment they are asked for, and round trips under
load vary by 2x. With 3, sync slots found the buffer empty on 15% of their returns in
``benchmarks/runtime_throughput.py`` (c); with 4 and a 3x limit, 7%, and ~8% more tasks/s."""
LIMIT_PER_SLOT = 3
"""The reserve is at most this many tasks per slot."""


class Pace:
    """Smoothed handler time and request round trip of one agent; :meth:`reserve` from them.

    A worker that asks for a task only once a slot is idle leaves that slot idle for a
    round trip per task: with 10 ms handlers and a 2 ms round trip, a sixth of its
    capacity. Holding a few leased tasks in reserve hides the trip. The reserve is what
    the slots use up in :data:`ROUND_TRIPS_COVERED` round trips, at most
    :data:`LIMIT_PER_SLOT` times the number of slots (a batch's answer can be a round trip
    late while the slots drain the buffer); with handlers much longer than a round trip
    it is zero, so a slow agent never sits on tasks that another worker could start.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._limit = LIMIT_PER_SLOT * workers
        self._handler_s: float | None = None
        self._round_trip_s: float | None = None

    def handler_ran(self, seconds: float) -> None:
        self._handler_s = _average(self._handler_s, seconds)

    def round_trip(self, seconds: float) -> None:
        self._round_trip_s = _average(self._round_trip_s, seconds)

    def reserve(self) -> int:
        """Tasks to lease beyond the idle slots (0 until both averages have a sample)."""
        if self._handler_s is None or self._round_trip_s is None:
            return 0
        freed = self._workers * ROUND_TRIPS_COVERED * self._round_trip_s
        return min(self._limit, int(freed / max(self._handler_s, 1e-6)))


def _average(current: float | None, sample: float) -> float:
    return sample if current is None else current + _WEIGHT * (sample - current)
