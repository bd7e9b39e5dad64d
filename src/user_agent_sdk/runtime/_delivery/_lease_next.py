"""update-v2: each result in its own request, whose answer is the next task leased."""

from __future__ import annotations

import trio

from ...conductor import ConductorError, Task, TaskResult
from .._requests import AgentRequests
from .._reservations import Reservation


class LeaseNextUpdates:
    """Posts a result by update-v2 when a slot has room for the task its answer leases,
    else as a plain update. At most ``agent.workers`` update-v2 posts are under way at
    once; a post that fails goes to the result sender, which retries it plainly."""

    def __init__(self, requests: AgentRequests) -> None:
        self._requests = requests
        self._posts = trio.Semaphore(max(1, requests.agent.workers))

    async def post(self, result: TaskResult, body: bytes) -> None:
        """Start posting ``result``; waits only while posts are backed up."""
        requests = self._requests
        if requests.slots.room() <= 0:  # a plain update, as PlainUpdates posts it
            await requests.sender.send(result, body)
            requests.room_changed.set()
            return
        # Reserved before waiting, so that the poller does not ask for it too.
        reservation = requests.reservations.reserve(1)
        try:
            await self._posts.acquire()
        except BaseException:
            reservation.release()
            raise
        requests.work.start_soon(self._post_and_lease, result, body, reservation)

    async def _post_and_lease(
        self, result: TaskResult, body: bytes, reservation: Reservation
    ) -> None:
        """One update-v2 request (a post acquired by the caller, one task reserved in
        ``reservation``); the answer's task, if any, goes to the slots."""
        requests = self._requests
        started = trio.current_time()
        task: Task | None = None
        scope = requests.shielded()
        try:
            with scope:
                task = await requests.client.update_and_poll(body)
        except ConductorError as exc:
            requests.measures.update_failed(trio.current_time() - started, exc)
            await requests.sender.send(result, body)  # retried there
            return
        finally:
            requests.scopes.discard(scope)
            self._posts.release()
            reservation.release()
        now = trio.current_time()
        requests.measures.updated(now - started, 1, 0 if task is None else 1)
        requests.pace.round_trip(now - started, now)
        requests.slots.arrived([] if task is None else [task])
