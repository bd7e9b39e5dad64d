"""Feeding a MessageReader by hand: the stream in chosen pieces, without an event loop."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from user_agent_sdk.transport._framing import MessageReader

T = TypeVar("T")


class Pieces:
    """A reader's receive: ``stream`` in pieces cut at ``cuts``, then the end of the
    stream (or, with ``then_wait``, a failure: the reader should not have asked)."""

    def __init__(self, stream: bytes, cuts: Iterable[int] = (), *, then_wait: bool = False) -> None:
        edges = sorted({c for c in cuts if 0 < c < len(stream)})
        self._pieces = [
            stream[a:b] for a, b in zip([0, *edges], [*edges, len(stream)], strict=True)
        ]
        self._then_wait = then_wait
        self.given = 0
        """Bytes handed to the reader so far."""

    async def receive(self) -> bytes:
        if not self._pieces and self._then_wait:
            raise AssertionError(f"the reader asked for more after {self.given} bytes")
        piece = self._pieces.pop(0) if self._pieces else b""
        self.given += len(piece)
        return piece

    def reader(self) -> MessageReader:
        return MessageReader(self.receive)


def complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to its end a coroutine that never waits (its receive hands out pieces at once),
    without an event loop: thousands of examples stay cheap."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coroutine.close()
    raise AssertionError("the parser waited for something other than its receive")
