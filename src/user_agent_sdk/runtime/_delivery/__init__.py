"""Result delivery: how an agent's results reach the server, one strategy per route.

- :mod:`._exchange`: update-batch, the results waiting in one request that leases their
  replacements;
- :mod:`._lease_next`: update-v2, one result per request, answered with the next task;
- :mod:`._plain`: plain updates through the result sender; the poller brings new tasks.

Which one is used follows the client's :class:`~user_agent_sdk.conductor.DeliveryCapability`,
shared by every agent of the runtime: the best route the server is still believed to
offer, moved down once when the server turns out to lack it.
"""

from __future__ import annotations

from typing import Protocol

from ...conductor import ResultRoute, TaskResult
from .._requests import AgentRequests
from ._exchange import EXCHANGES_IN_FLIGHT, MAX_BATCH, MAX_BATCH_BYTES, Exchanger
from ._lease_next import LeaseNextUpdates
from ._plain import PlainUpdates

__all__ = [
    "EXCHANGES_IN_FLIGHT",
    "MAX_BATCH",
    "MAX_BATCH_BYTES",
    "Poster",
    "ResultDelivery",
]


class Poster(Protocol):
    """A route that posts results one request each."""

    async def post(self, result: TaskResult, body: bytes) -> None:
        """Deliver ``result`` (encoded as ``body``); waits only while posts are backed up."""
        ...


class ResultDelivery:
    """Hands each result of one agent to the route the server offers.

    A slot hands each result to :meth:`take`, which queues it without waiting when
    results go by update-batch, or names the :class:`Poster` the slot then awaits.
    :meth:`run` runs the update-batch loop, when that route is offered, until :meth:`close`.
    """

    def __init__(self, requests: AgentRequests) -> None:
        self._capability = requests.client.delivery
        self._plain = PlainUpdates(requests)
        self._lease_next = LeaseNextUpdates(requests)
        self._exchanger = Exchanger(requests, self.post)

    @property
    def leasing(self) -> bool:
        """Whether results wait or are under way in requests that will lease tasks (a
        poll now would ask for the same room)."""
        return self._exchanger.leasing

    def take(self, result: TaskResult, body: bytes) -> Poster | None:
        """Queue ``result`` for the next update-batch (no checkpoint) and return None; or,
        when results go one request each, return the poster to ``post`` it with."""
        best = self._capability.best
        if best is ResultRoute.UPDATE_BATCH:
            self._exchanger.queue(result, body)
            return None
        return self._lease_next if best is ResultRoute.UPDATE_V2 else self._plain

    async def post(self, result: TaskResult, body: bytes) -> None:
        """Deliver ``result`` by the best route; waits only while posts are backed up."""
        poster = self.take(result, body)
        if poster is not None:
            await poster.post(result, body)

    def wake(self) -> None:
        """The room for tasks, or whether the agent is stopping, may have changed."""
        self._exchanger.wake()

    def close(self) -> None:
        """No more results will come: :meth:`run` returns once the last are posted."""
        self._exchanger.close()

    async def run(self) -> None:
        """Post results in update-batch requests while the server offers them."""
        if self._capability.best is ResultRoute.UPDATE_BATCH:
            await self._exchanger.run()
