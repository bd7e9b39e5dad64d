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

from ...conductor import ResultRoute, TaskResult
from .._requests import AgentRequests
from ._exchange import EXCHANGES_IN_FLIGHT, MAX_BATCH, MAX_BATCH_BYTES, Exchanger
from ._lease_next import LeaseNextUpdates
from ._plain import PlainUpdates

__all__ = [
    "EXCHANGES_IN_FLIGHT",
    "MAX_BATCH",
    "MAX_BATCH_BYTES",
    "ResultDelivery",
]


class ResultDelivery:
    """Hands each result of one agent to the route the server offers.

    A slot calls :meth:`take` first: it takes the result without waiting when results go
    by update-batch; otherwise the slot awaits :meth:`post`. :meth:`run` runs the
    update-batch loop, when that route is offered, until :meth:`close`.
    """

    def __init__(self, requests: AgentRequests) -> None:
        self._capability = requests.client.delivery
        self._plain = PlainUpdates(requests)
        self._lease_next = LeaseNextUpdates(requests, self._plain)
        self._exchanger = Exchanger(requests, self.post)

    @property
    def leasing(self) -> bool:
        """Whether results wait or are under way in requests that will lease tasks (a
        poll now would ask for the same room)."""
        return self._exchanger.leasing

    def take(self, result: TaskResult, body: bytes) -> bool:
        """Queue ``result`` for the next update-batch (no checkpoint); False when results
        go one request each: then :meth:`post` it."""
        if self._capability.best is ResultRoute.UPDATE_BATCH:
            self._exchanger.queue(result, body)
            return True
        return False

    async def post(self, result: TaskResult, body: bytes) -> None:
        """Deliver ``result`` by the best route; waits only while posts are backed up."""
        best = self._capability.best
        if best is ResultRoute.UPDATE_BATCH:
            self._exchanger.queue(result, body)
        elif best is ResultRoute.UPDATE_V2:
            await self._lease_next.post(result, body)
        else:
            await self._plain.post(result, body)

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
