"""How many tasks to hold in reserve, from how long handlers take and requests round-trip."""

from __future__ import annotations

_WEIGHT = 0.1
"""Of each new handler time in its moving average: about the last 10-20 count."""
SLOW_TRIP_HALF_LIFE_S = 1.0
"""How fast the round trip the reserve is sized for forgets a slow trip (see :class:`Pace`)."""
ROUND_TRIPS_COVERED = 4.0
"""The reserve covers the slots that free up during this many round trips: a result
waits for the request in flight, then makes its own trip, before its replacement is in;
tasks asked for count as held from the moment they are asked for, and round trips under
load vary by 2x (``benchmarks/README.md`` has how 3 and 4 compared)."""
LIMIT_PER_SLOT = 3
"""The reserve is at most this many tasks per slot."""


class Pace:
    """Smoothed handler time and recent slow round trip of one agent; :meth:`reserve` from them.

    A worker that asks for a task only once a slot is idle leaves that slot idle for a
    round trip per task: with handlers a few times longer than a round trip, a large
    share of its capacity. Holding a few leased tasks in reserve hides the trip. The reserve is what
    the slots use up in :data:`ROUND_TRIPS_COVERED` round trips, at most
    :data:`LIMIT_PER_SLOT` times the number of slots (a batch's answer can be a round trip
    late while the slots drain the buffer); with handlers much longer than a round trip
    it is zero, so a slow agent never sits on tasks that another worker could start.

    The round trip it plans for is the slowest of about the last second, not the average:
    the buffer has to outlast the slow trips. Under load, short trips are interrupted now
    and then by one several times longer (the server or the worker waiting for a core, a
    database checkpoint), which drains a reserve sized for the average and leaves slots
    idle. A trip longer than the estimate replaces it at once; otherwise the estimate halves every
    :data:`SLOW_TRIP_HALF_LIFE_S` seconds, down to no less than the latest trip.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._limit = LIMIT_PER_SLOT * workers
        self._handler_s: float | None = None
        self._round_trip_s: float | None = None
        self._round_trip_at = 0.0

    def handler_ran(self, seconds: float) -> None:
        self._handler_s = _average(self._handler_s, seconds)

    def round_trip(self, seconds: float, now: float) -> None:
        """A request that leases tasks took ``seconds``, ending at ``now`` (any
        monotonic clock, the same for every call)."""
        estimate = self._round_trip_s
        if estimate is not None and seconds < estimate:
            elapsed = max(0.0, now - self._round_trip_at)
            seconds = max(seconds, estimate * 0.5 ** (elapsed / SLOW_TRIP_HALF_LIFE_S))
        self._round_trip_s, self._round_trip_at = seconds, now

    def reserve(self) -> int:
        """Tasks to lease beyond the idle slots (0 until a handler has run and a
        round trip ended)."""
        if self._handler_s is None or self._round_trip_s is None:
            return 0
        freed = self._workers * ROUND_TRIPS_COVERED * self._round_trip_s
        return min(self._limit, int(freed / max(self._handler_s, 1e-6)))


def _average(current: float | None, sample: float) -> float:
    return sample if current is None else current + _WEIGHT * (sample - current)
