"""Matching wire-0.4 permission answers to the requests that wait for them, on trio.

:meth:`AgentContext.request_permission` waits here; :mod:`agentproc._permission` holds the
trio-free parts (the decision, the stdin line reader) that a turn without it needs.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import trio

from agentproc._permission import PermissionDecision, StdinLines


class PermissionBroker:
    """Matches ``permission_response`` lines to the requests waiting for them.

    One task (started in ``nursery`` on first use) reads stdin in a worker thread for the
    rest of the turn; each waiter takes the answer that carries its ``request_id``.
    """

    def __init__(self, lines: StdinLines, nursery: trio.Nursery) -> None:
        self._lines = lines
        self._nursery = nursery
        self._answers: dict[str, dict[str, Any]] = {}
        self._arrived = trio.Event()
        self._ended = False
        self._started = False
        self._ids = itertools.count(1)

    @property
    def started(self) -> bool:
        """True once a request waits here: stdin belongs to the broker's reader."""
        return self._started

    def new_request_id(self) -> str:
        return f"agentproc-{next(self._ids)}"

    async def wait(self, request_id: str, deny_after: float | None) -> PermissionDecision:
        """The answer to ``request_id``; a denial when ``deny_after`` seconds pass first or
        stdin ends. Cancelling the call leaves the answer, if it comes, unread."""
        if not self._started:
            self._started = True
            self._nursery.start_soon(self._read)
        with trio.move_on_after(math.inf if deny_after is None else deny_after):
            while request_id not in self._answers and not self._ended:
                await self._arrived.wait()
        answer = self._answers.pop(request_id, None)
        if answer is not None:
            return PermissionDecision.from_response(answer)
        reason = "no answer: stdin ended" if self._ended else f"no answer within {deny_after:g} s"
        return PermissionDecision(behavior="deny", request_id=request_id, message=reason)

    async def _read(self) -> None:
        from agentproc._events import parse_object_line

        while True:
            line = await trio.to_thread.run_sync(self._lines.readline, abandon_on_cancel=True)
            if not line:
                self._ended = True
            else:
                response = parse_object_line(line)
                request_id = response.get("request_id") if response else None
                if response is not None and isinstance(request_id, str):
                    self._answers[request_id] = response
            self._arrived.set()
            self._arrived = trio.Event()
            if self._ended:
                return
