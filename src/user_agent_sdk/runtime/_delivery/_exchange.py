"""update-batch: the results waiting posted together, in a request that leases their
replacements."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from ...conductor import BatchAnswer, ConductorError, RequestRejected, ResultRoute, TaskResult
from .._logs import about_task
from .._requests import AgentRequests
from .._reservations import Reservation
from .._signal import Signal

log = logging.getLogger("user_agent_sdk.runtime")

MAX_BATCH = 256
"""The most results one update-batch request carries (fewer when the server allows fewer)."""
MAX_BATCH_BYTES = 2 * 1024 * 1024
"""An update-batch request carries results of at most this many bytes in all (or a single
larger one): servers refuse bodies past a size (the embedded one, 10 MiB by default)."""
EXCHANGES_IN_FLIGHT = 2
"""update-batch requests under way at once: while the server applies one batch, the
next gathers, so neither side waits for the other."""

Post = Callable[[TaskResult, bytes], Awaitable[None]]


class Exchanger:
    """Gathers results (:meth:`queue`) and posts them in update-batch requests (:meth:`run`).

    Each request leases as many tasks as the slots have room for when it is cut. Results
    of a request the server refuses as too large go again in smaller ones; those of a
    request that fails go to the result sender. Once the server is found to lack
    update-batch, :meth:`run` hands what waits, and the results of refused requests, to
    ``fallback``, and returns.
    """

    def __init__(self, requests: AgentRequests, fallback: Post) -> None:
        self._requests = requests
        self._fallback = fallback
        self._capability = requests.client.delivery
        self._outbox: list[tuple[TaskResult, bytes]] = []
        self._exchanging = 0
        self._changed = Signal()
        self._closed = False
        self._batch_bytes = MAX_BATCH_BYTES
        """Halved when the server finds an update-batch too large (413)."""

    @property
    def leasing(self) -> bool:
        """Whether results wait or are under way in requests that will lease tasks."""
        return self._exchanging > 0 or bool(self._outbox)

    def queue(self, result: TaskResult, body: bytes) -> None:
        """Post ``result`` with the next batch (no checkpoint)."""
        self._outbox.append((result, body))
        # Only when the loop can act on it: with every exchange in flight, the next one
        # to end wakes it anyway (waking it per result costs a loop pass each).
        if self._exchanging < EXCHANGES_IN_FLIGHT:
            self._changed.set()

    def wake(self) -> None:
        """Something the loop waits for may have changed (the room, a stop)."""
        self._changed.set()

    def close(self) -> None:
        """No more results will be queued: :meth:`run` returns once the last are posted."""
        self._closed = True
        self._changed.set()

    async def run(self) -> None:
        """Post waiting results in batches until closed and empty (or update-batch is
        found missing)."""
        async with trio.open_nursery() as exchanges:
            while self._capability.best is ResultRoute.UPDATE_BATCH:
                if self._outbox and self._exchanging < EXCHANGES_IN_FLIGHT:
                    batch = self._take_batch()
                    # Reserved now, with the batch cut, so the room is counted once.
                    requests = self._requests
                    room = max(0, requests.slots.room())
                    count = requests.lease_limit.cap(room, requests.client.task_bytes)
                    reservation = requests.reservations.reserve(count)
                    self._exchanging += 1
                    exchanges.start_soon(self._exchange, batch, reservation)
                elif self._closed and not self._outbox:
                    return
                else:
                    await self._changed.wait()
        batch, self._outbox = self._outbox, []
        for result, body in batch:
            await self._fallback(result, body)

    def _take_batch(self) -> list[tuple[TaskResult, bytes]]:
        """The oldest results waiting, as many as one update-batch may carry."""
        most = self._requests.lease_limit.cap(MAX_BATCH)
        size = 0
        taken = 0
        for _, body in self._outbox[:most]:
            size += len(body)
            if taken and size > self._batch_bytes:
                break
            taken += 1
        batch, self._outbox = self._outbox[:taken], self._outbox[taken:]
        return batch

    async def _exchange(
        self, batch: list[tuple[TaskResult, bytes]], reservation: Reservation
    ) -> None:
        """One update-batch request leasing up to the tasks of ``reservation`` (made by
        the caller, which also counted up ``_exchanging``)."""
        requests = self._requests
        agent = requests.agent
        count = reservation.count
        started = trio.current_time()
        answer: BatchAnswer | None = None
        scope = requests.shielded()
        try:
            with scope:
                answer = await requests.client.update_batch(
                    agent.agent_id,
                    [body for _, body in batch],
                    count=count,
                    worker_id=agent.worker_id,
                    domain=agent.spec.domain,
                )
        except ConductorError as exc:
            requests.measures.update_failed(trio.current_time() - started, exc)
            await self._failed(batch, count, exc)
            return
        finally:
            requests.scopes.discard(scope)
            self._exchanging -= 1
            reservation.release()
            self._changed.set()
        if answer is None:  # the server has no update-batch (logged by the client)
            for result, body in batch:
                await self._fallback(result, body)
            return
        requests.sender.server_answered()
        now = trio.current_time()
        requests.measures.updated(now - started, len(batch), len(answer.tasks))
        requests.pace.round_trip(now - started, now)
        for task_id in answer.unknown_task_ids:
            log.warning(
                "%s: the server no longer knows task %s; its result is dropped",
                agent.spec.name,
                task_id,
                extra=about_task(agent.agent_id, task_id, None),
            )
        requests.slots.arrived(answer.tasks)

    async def _failed(
        self, batch: list[tuple[TaskResult, bytes]], count: int, exc: ConductorError
    ) -> None:
        """Send ``batch`` again, smaller, or by the result sender."""
        name = self._requests.agent.spec.name
        if self._requests.lease_limit.refused(max(count, len(batch)), exc):
            self._outbox[:0] = batch  # again, in a smaller request
            return
        if isinstance(exc, RequestRejected) and exc.status == 413 and len(batch) > 1:
            self._batch_bytes = max(1, sum(len(body) for _, body in batch) // 2)
            log.info(
                "%s: the server refused an update-batch of %d results as too large (%s); "
                "sending at most %d bytes per batch from now on",
                name,
                len(batch),
                exc,
                self._batch_bytes,
            )
            self._outbox[:0] = batch
            return
        log.debug("%s: update-batch failed (%s); posting one by one", name, exc)
        for result, body in batch:
            await self._requests.sender.send(result, body)  # retried there (or replaced)
