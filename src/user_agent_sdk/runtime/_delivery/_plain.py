"""Plain updates: one result per request, through the result sender; no task comes back."""

from __future__ import annotations

from ...conductor import TaskResult
from .._requests import AgentRequests


class PlainUpdates:
    """Posts each result by the result sender (retried there until delivered)."""

    def __init__(self, requests: AgentRequests) -> None:
        self._requests = requests

    async def post(self, result: TaskResult, body: bytes) -> None:
        """Hand ``result`` to the sender; waits only while its posts are backed up."""
        await self._requests.sender.send(result, body)
        # The slot that waited here may now want a task: the poller brings it.
        self._requests.room_changed.set()
