"""The poller: asks the server for tasks when slots are idle and no result post will
bring them (long polls while the queue is empty)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from ..conductor import AuthenticationError, ConductorError, RequestRejected, Task
from ._backoff import Backoff
from ._delivery import ResultDelivery
from ._refusals import AgentFailed, poll_refusal
from ._requests import AgentRequests

log = logging.getLogger("user_agent_sdk.runtime")

LONG_POLL_MS = 1000
"""The longest a batch poll may wait on the server for work (less when the agent's
``poll_interval`` is shorter). The server answers as soon as work arrives, so this only
bounds how often an idle worker asks, and how long a stop waits for the poll in flight."""
FIRST_IDLE_WAIT_S = 0.01
"""After an empty answer the next poll waits this long, doubling up to ``poll_interval``."""
POLL_RETRY_FIRST_S = 0.25
POLL_RETRY_LIMIT_S = 30.0
MAX_SINGLE_POLLS = 32
"""Single polls (akaBot) in flight at once for one agent: each asks for one task and is
answered at once, so a few dozen keep a busy worker fed without a socket per slot."""


class Poller:
    """Polls for one agent until it stops (or the server refuses it for good: ``fail``).

    A poll in flight is shielded from a stop (cut short, it may already have leased tasks
    that would then sit unseen until their lease ran out); an abort cancels it anyway.
    """

    def __init__(
        self,
        requests: AgentRequests,
        delivery: ResultDelivery,
        fail: Callable[[AgentFailed], None],
    ) -> None:
        self._requests = requests
        self._delivery = delivery
        self._fail = fail
        self._name = requests.agent.spec.name
        self.reached = False
        """True once the server has answered a poll of this agent."""
        self.error: str | None = None
        """Why the last poll failed, or None when it got an answer."""

    async def run(self) -> None:
        """Poll until the agent stops; cancelling it stops it between polls."""
        requests = self._requests
        agent, client = requests.agent, requests.client
        interval_ms = agent.spec.poll_interval_ms
        idle = Backoff(first=FIRST_IDLE_WAIT_S, limit=max(interval_ms / 1000, FIRST_IDLE_WAIT_S))
        long_poll_ms = min(interval_ms, LONG_POLL_MS)
        errors = Backoff(first=POLL_RETRY_FIRST_S, limit=POLL_RETRY_LIMIT_S, jitter=True)
        busy = True
        last_error = ""
        # The poll itself is shielded and may be followed by no checkpoint, so the
        # flag, not only the cancellation, ends the loop.
        while not requests.slots.stopping:
            room = await self._wait_for_room()
            if room <= 0:
                continue
            width = self._width(room, busy)
            started = trio.current_time()
            try:
                tasks = await self._poll(width, long_poll_ms)
            except (AuthenticationError, RequestRejected) as exc:
                # Sent again unchanged it would be refused again: ask for fewer tasks,
                # or stop.
                asked = width if client.flavour.batch_poll else 1
                if not requests.lease_limit.refused(asked, exc):
                    self._fail(poll_refusal(self._name, exc))
                continue
            except ConductorError as exc:
                wait = errors.next()
                last_error = self._failed(exc, wait, errors.failures, last_error)
                await trio.sleep(wait)
                continue
            if errors.failures:
                log.info("%s: polling again after %d failed polls", self._name, errors.failures)
                errors.reset()
                last_error = ""
            requests.slots.arrived(tasks)
            busy = bool(tasks)
            if busy:
                idle.reset()
            else:
                await trio.sleep(max(0.0, idle.next() - (trio.current_time() - started)))

    def _width(self, room: int, busy: bool) -> int:
        """Tasks the next poll asks for, of the ``room`` there is."""
        client = self._requests.client
        if client.flavour.batch_poll:
            return self._requests.lease_limit.cap(room, client.task_bytes)
        # A single-poll server costs one request per task asked for: while the queue is
        # empty, one probe at a time is enough.
        return min(room, MAX_SINGLE_POLLS) if busy else 1

    async def _wait_for_room(self) -> int:
        """Wait until slots need tasks that no post in flight or waiting will bring."""
        slots = self._requests.slots
        while not slots.stopping:
            room = slots.room()
            if room > 0 and not self._delivery.leasing:
                return room
            await self._requests.room_changed.wait()
        return 0

    async def _poll(self, width: int, long_poll_ms: int) -> list[Task]:
        """Poll for ``width`` tasks; a stop lets it finish."""
        requests = self._requests
        agent = requests.agent
        tasks: list[Task] = []
        started = trio.current_time()
        scope = requests.shielded()
        with requests.reservations.reserve(width):
            try:
                with scope:
                    tasks = await requests.client.poll(
                        agent.agent_id,
                        count=width,
                        worker_id=agent.worker_id,
                        domain=agent.spec.domain,
                        timeout_ms=long_poll_ms,
                    )
                requests.sender.server_answered()
            except ConductorError as exc:
                requests.measures.poll_failed(trio.current_time() - started, exc)
                self.error = str(exc)
                raise
            else:
                requests.measures.polled(trio.current_time() - started, len(tasks))
                self.reached, self.error = True, None
            finally:
                requests.scopes.discard(scope)
        return tasks

    def _failed(self, exc: ConductorError, wait: float, failures: int, last: str) -> str:
        message = str(exc)
        if failures == 1 or message != last:
            log.warning("%s: cannot poll: %s; retrying in %.1f s", self._name, message, wait)
        else:
            log.debug("%s: poll %d failed: %s", self._name, failures, message)
        return message
