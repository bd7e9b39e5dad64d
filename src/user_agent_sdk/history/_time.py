"""Timestamps as the history stores them: ISO-8601 in UTC, to the millisecond.

One format for every row keeps ``ORDER BY started_at`` and ``started_at >= ?`` correct as
plain text comparisons.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


def iso_utc(epoch_s: float) -> str:
    """``1700000000.5`` -> ``'2023-11-14T22:13:20.500+00:00'``."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")


def to_utc(moment: datetime) -> str:
    """The stored form of ``moment``; a naive one is taken as local time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_stored(text: str) -> datetime | None:
    """A stored timestamp as an aware datetime; None when it is not ISO-8601.

    Naive values (older databases wrote local time without a zone) are taken as local.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC)


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: an age (``30s``, ``15m``, ``2h``, ``7d``, ``1w``) or an ISO-8601 date or
    time (``2025-01-31``, ``2025-01-31T08:00``, ``...+07:00``; without a zone: local time).

    Raises ValueError with a message that shows the accepted forms.
    """
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an age like 30m, 2h, 7d nor an ISO-8601 time "
            f"like 2025-01-31 or 2025-01-31T08:00"
        ) from None
    return moment.astimezone(UTC)
