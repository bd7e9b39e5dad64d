"""A re-armable event for a loop that re-checks its condition around each wait."""

from __future__ import annotations

import trio


class Signal:
    """:meth:`wait` returns after the next :meth:`set`; a set that came before the wait is
    consumed (the caller has just checked the condition it stood for)."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        if self._event.is_set():
            self._event = trio.Event()
        await self._event.wait()
