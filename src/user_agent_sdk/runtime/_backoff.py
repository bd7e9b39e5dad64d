"""Growing waits: between polls of an empty queue, and between retries of a failed request."""

from __future__ import annotations

import random

import attrs


@attrs.define
class Backoff:
    """``first``, doubling up to ``limit``; ``reset()`` starts over.

    With ``jitter`` each wait is drawn from [50%, 100%] of its nominal value, so that
    workers that failed together do not retry together.
    """

    first: float
    limit: float
    jitter: bool = False
    failures: int = 0
    """Waits handed out since the last reset."""

    def next(self) -> float:
        """The next wait in seconds."""
        nominal: float = min(self.first * 2.0 ** min(self.failures, 32), self.limit)
        self.failures += 1
        if self.jitter:
            return float(nominal * random.uniform(0.5, 1.0))
        return float(nominal)

    def reset(self) -> None:
        self.failures = 0
