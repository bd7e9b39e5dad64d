"""Turning errors that escape trio nurseries into one line for the user."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


def find(error: BaseException, kind: type[E]) -> E | None:
    """``error`` itself, or the first exception of ``kind`` inside it (nurseries group them)."""
    if isinstance(error, kind):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = find(inner, kind)
            if found is not None:
                return found
    return None
