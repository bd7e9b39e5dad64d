"""One agent's part of the nursery tree: worker slots, what feeds them, and a result sender.

::

    agent runner
    ├── result sender nursery      one delivery task per result, retried until delivered
    ├── lease keeper               renews the lease of every task held past half of it
    └── work nursery
        ├── slots (one per worker)  take a task from the buffer, run its handler (async:
        │                           right here; sync: on the slot's own thread, which
        │                           may go straight on to the next buffered task) in a
        │                           cancel scope (its shutdown deadline), hand results on
        ├── exchanger               posts the results waiting, all in one update-batch
        │                           request that also leases their replacements
        ├── poller                  asks for tasks when slots are idle and no post will
        │                           bring them (long polls while the queue is empty)
        └── posts (Conductor)       on servers without update-batch: update-v2 per result,
                                    whose answer is the next task

Tasks flow through a :class:`~._buffer.TaskBuffer`: leased tasks wait there for a slot,
so a slot that finishes starts its next task at once instead of waiting a round trip for
it. The worker leases as many tasks as it has slots plus a small reserve (see
:class:`~._pace.Pace`); every request reserves what it asks for, so the requests in
flight never ask for more than that between them. A post that fails goes to the result
sender, which retries it without holding anything else up.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import attrs
import trio

from ..conductor import (
    AuthenticationError,
    BatchAnswer,
    ConductorClient,
    ConductorError,
    RequestRejected,
    Task,
    TaskResult,
    TaskResultStatus,
)
from ._asyncio import AsyncioLoop
from ._backoff import Backoff
from ._buffer import TaskBuffer
from ._invoke import Agent, clean_input, ended, invoke_async, platform_ids, sync_call
from ._leases import LeaseKeeper
from ._logs import TaskLogger, about_task
from ._measures import AgentMeasures
from ._observer import ExecutionObserver, ExecutionRecord
from ._outcome import AttemptEnd, encode, task_result, unserializable
from ._pace import Pace
from ._refusals import AgentFailed, LeaseLimit, poll_refusal
from ._reservations import Reservation, Reservations
from ._sender import ResultSender
from ._threads import Returns, SlotThread

log = logging.getLogger("user_agent_sdk.runtime")

LONG_POLL_MS = 1000
"""The longest a batch poll may wait on the server for work (less when the agent's
``poll_interval`` is shorter). The server answers as soon as work arrives, so this only
bounds how often an idle worker asks, and how long a stop waits for the poll in flight."""
FIRST_IDLE_WAIT_S = 0.01
"""After an empty answer the next poll waits this long, doubling up to ``poll_interval``."""
POLL_RETRY_FIRST_S = 0.25
POLL_RETRY_LIMIT_S = 30.0
FINAL_SEND_S = 10.0
"""After a stop, how long results still being retried may take to reach the server."""
HAND_BACK_AFTER_S = 1
"""A task polled while stopping goes back to its queue, visible again after this long."""
MAX_BATCH = 256
"""The most results one update-batch request carries (fewer when the server allows fewer)."""
MAX_BATCH_BYTES = 2 * 1024 * 1024
"""An update-batch request carries results of at most this many bytes in all (or a single
larger one): servers refuse bodies past a size (the embedded one, 10 MiB by default)."""
MAX_SINGLE_POLLS = 32
"""Single polls (akaBot) in flight at once for one agent: each asks for one task and is
answered at once, so a few dozen keep a busy worker fed without a socket per slot."""
EXCHANGES_IN_FLIGHT = 2
"""update-batch requests under way at once: while the server applies one batch, the
next gathers, so neither side waits for the other."""


@attrs.define
class AgentStats:
    """Counts of finished tasks, by how they ended."""

    completed: int = 0
    failed: int = 0
    failed_terminal: int = 0
    handed_back: int = 0

    def count(self, status: TaskResultStatus, by: int = 1) -> None:
        match status:
            case TaskResultStatus.COMPLETED:
                self.completed += by
            case TaskResultStatus.FAILED:
                self.failed += by
            case TaskResultStatus.FAILED_WITH_TERMINAL_ERROR:
                self.failed_terminal += by
            case TaskResultStatus.IN_PROGRESS:
                self.handed_back += by

    def recount(self, was: TaskResultStatus, now: TaskResultStatus) -> None:
        """A result counted as ``was`` reached the server as ``now`` instead."""
        self.count(was, -1)
        self.count(now)


class _Signal:
    """A re-armable event for a waiter that re-checks its condition around each wait.

    :meth:`wait` returns after the next :meth:`set`; a set that came before the wait is
    consumed (the caller has just checked the condition it stood for).
    """

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        if self._event.is_set():
            self._event = trio.Event()
        await self._event.wait()


class _Running:
    """A task a slot has started, and what its result will need."""

    __slots__ = ("began", "logger", "started", "task")

    def __init__(self, task: Task, log_level: int, agent: str) -> None:
        self.task = task
        self.started = time.time()
        self.began = time.perf_counter()  # not trio's clock: a slot's thread may begin it
        self.logger = TaskLogger(agent, task.task_id, log_level)


class AgentRunner:
    """Serves one agent until :meth:`stop` has drained it (or :meth:`abort`)."""

    def __init__(
        self,
        agent: Agent,
        client: ConductorClient,
        observer: ExecutionObserver | None = None,
        asyncio_loop: AsyncioLoop | None = None,
    ) -> None:
        """``asyncio_loop`` runs the handler when it is written for asyncio."""
        self.agent: Agent = agent
        self._asyncio_loop = asyncio_loop
        self.stats = AgentStats()
        self.measures = AgentMeasures()
        self.reached = False
        """True once the server has answered a poll of this agent."""
        self.poll_error: str | None = None
        """Why the last poll failed, or None when it got an answer."""
        self._client = client
        self._observer = observer
        self._name = agent.spec.name
        self._buffer = TaskBuffer()
        self._pace = Pace(agent.workers)
        self._lease_limit = LeaseLimit(self._name)
        self._batch_bytes = MAX_BATCH_BYTES
        """Halved when the server finds an update-batch too large (413)."""
        self.failure: AgentFailed | None = None
        """Why the agent stopped on its own, if it did (the server refuses its polls)."""
        self._stopping = False
        self._deadline = math.inf
        self._task_scopes: set[trio.CancelScope] = set()
        self._running = 0
        self._slots_left = 0
        self._reservations = Reservations(released=self._room_grew)
        """Tasks asked for by requests in flight (polls, update-batch, update-v2)."""
        self._outbox: list[tuple[TaskResult, bytes]] = []
        self._exchanging = 0
        self._outbox_changed = _Signal()
        self._room_changed = _Signal()
        self._posts = trio.Semaphore(max(1, agent.workers))
        self._poller_scope = trio.CancelScope()
        self._request_scopes: set[trio.CancelScope] = set()
        self._work: trio.Nursery | None = None
        self._sender: ResultSender | None = None
        self._leases = LeaseKeeper(
            client, agent.worker_id, agent.spec.name, self.measures, agent.agent_id
        )
        self._returns: Returns | None = None
        """Shared by the slots' threads: calls that return together cost one wake-up."""

    @property
    def running(self) -> int:
        """Tasks whose handler is running right now."""
        return self._running

    @property
    def buffered(self) -> int:
        """Tasks leased and waiting for a slot."""
        return len(self._buffer)

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def undelivered(self) -> int:
        """Results given up on (the worker stopped while they were still being retried)."""
        return 0 if self._sender is None else len(self._sender.lost)

    def not_ready(self) -> str | None:
        """Why this agent cannot take work now, or None when its last poll got an answer."""
        if self.failure is not None:
            return str(self.failure)
        if self._stopping:
            return "stopping: takes no new tasks"
        if self.poll_error is not None:
            return f"cannot poll: {self.poll_error}"
        if not self.reached:
            return "has not reached the server yet"
        return None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll and run tasks until stopped; returns once every result is delivered."""
        async with trio.open_nursery() as send_nursery:
            self._sender = ResultSender(
                self._client,
                send_nursery,
                concurrency=max(8, self.agent.workers),
                agent=self._name,
                on_replaced=self.stats.recount,
                measures=self.measures,
                agent_id=self.agent.agent_id,
            )
            async with trio.open_nursery() as keeper:
                await keeper.start(self._leases.run)
                async with trio.open_nursery() as work:
                    self._work = work
                    self._returns = Returns(trio.lowlevel.current_trio_token())
                    self._slots_left = self.agent.workers
                    for _ in range(self.agent.workers):
                        work.start_soon(self._slot)
                    if self._client.updates_in_batches:
                        work.start_soon(self._exchange_loop)
                    work.start_soon(self._poll_loop)
                    task_status.started()
                keeper.cancel_scope.cancel()
            # Stopped and drained: the last results get a bounded time to get through.
            send_nursery.cancel_scope.deadline = trio.current_time() + FINAL_SEND_S
        if self._sender.lost:
            log.error(
                "%s: %d results could not be delivered; the server hands those tasks out "
                "again when their lease runs out: %s",
                self._name,
                len(self._sender.lost),
                ", ".join(self._sender.lost),
            )

    def stop(self, deadline: float) -> None:
        """Stop polling; tasks still running at ``deadline`` (trio time) are cancelled.

        Tasks leased but not started go back to their queue at once.
        """
        first = not self._stopping
        self._stopping = True
        self._poller_scope.cancel()
        self._deadline = min(self._deadline, deadline)
        for scope in self._task_scopes:
            scope.deadline = min(scope.deadline, self._deadline)
        if first:
            for task in self._buffer.close():
                self._hand_back(task)
        self._wake()

    def abort(self) -> None:
        """Give up at once, including requests in flight (whose tasks the server times out)."""
        self.stop(-math.inf)
        for scope in self._request_scopes:
            scope.cancel()

    # -- what the worker may ask for ------------------------------------------------------

    def _room(self) -> int:
        """Tasks to ask for now: idle slots and the reserve, less what is on its way."""
        if self._stopping:
            return 0
        held = self._running + len(self._buffer) + self._reservations.total
        return self.agent.workers + self._pace.reserve() - held

    def _wake(self) -> None:
        self._outbox_changed.set()
        self._room_changed.set()

    def _arrived(self, tasks: list[Task]) -> None:
        """Tasks leased to this worker: into the buffer, or back to the queue if stopping."""
        if not tasks:
            return
        if self._stopping:
            for task in tasks:
                self._hand_back(task)
            return
        for task in tasks:
            self._leases.hold(task)
        self._buffer.put(tasks)

    def _room_grew(self) -> None:
        """A request's reservation was released."""
        self._room_changed.set()

    # -- polling -----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        interval_ms = self.agent.spec.poll_interval_ms
        idle = Backoff(first=FIRST_IDLE_WAIT_S, limit=max(interval_ms / 1000, FIRST_IDLE_WAIT_S))
        long_poll_ms = min(interval_ms, LONG_POLL_MS)
        errors = Backoff(first=POLL_RETRY_FIRST_S, limit=POLL_RETRY_LIMIT_S, jitter=True)
        busy = True
        last_error = ""
        with self._poller_scope:
            # The poll itself is shielded and may be followed by no checkpoint, so the
            # flag, not only the cancellation, ends the loop.
            while not self._stopping:
                room = await self._wait_for_room()
                if room <= 0:
                    continue
                width = self._poll_width(room, busy)
                started = trio.current_time()
                try:
                    tasks = await self._poll(width, long_poll_ms)
                except (AuthenticationError, RequestRejected) as exc:
                    # Sent again unchanged it would be refused again: ask for fewer
                    # tasks, or stop.
                    asked = width if self._client.flavour.batch_poll else 1
                    if not self._lease_limit.refused(asked, exc):
                        self._fail(poll_refusal(self._name, exc))
                    continue
                except ConductorError as exc:
                    wait = errors.next()
                    last_error = self._poll_failed(exc, wait, errors.failures, last_error)
                    await trio.sleep(wait)
                    continue
                if errors.failures:
                    log.info("%s: polling again after %d failed polls", self._name, errors.failures)
                    errors.reset()
                    last_error = ""
                self._arrived(tasks)
                busy = bool(tasks)
                if busy:
                    idle.reset()
                else:
                    await trio.sleep(max(0.0, idle.next() - (trio.current_time() - started)))

    def _poll_width(self, room: int, busy: bool) -> int:
        """Tasks the next poll asks for, of the ``room`` there is."""
        if self._client.flavour.batch_poll:
            return self._lease_limit.cap(room, self._client.task_bytes)
        # A single-poll server costs one request per task asked for: while the queue is
        # empty, one probe at a time is enough.
        return min(room, MAX_SINGLE_POLLS) if busy else 1

    def _fail(self, error: AgentFailed) -> None:
        """Stop this agent for good: running tasks still finish and report."""
        log.error("%s", error)
        self.failure = error
        self.stop(self._deadline)

    async def _wait_for_room(self) -> int:
        """Wait until slots need tasks that no post in flight or waiting will bring."""
        while not self._stopping:
            posting = self._exchanging > 0 or bool(self._outbox)
            room = self._room()
            if room > 0 and not posting:
                return room
            await self._room_changed.wait()
        return 0

    async def _poll(self, width: int, long_poll_ms: int) -> list[Task]:
        """Poll for ``width`` tasks; a stop lets it finish."""
        # Shielded from stop(): a poll cut short may already have leased tasks that
        # would then sit unseen until their lease ran out. abort() cancels it anyway.
        tasks: list[Task] = []
        started = trio.current_time()
        with self._reservations.reserve(width):
            try:
                with trio.CancelScope(shield=True) as scope:
                    self._request_scopes.add(scope)
                    tasks = await self._client.poll(
                        self.agent.agent_id,
                        count=width,
                        worker_id=self.agent.worker_id,
                        domain=self.agent.spec.domain,
                        timeout_ms=long_poll_ms,
                    )
                assert self._sender is not None
                self._sender.server_answered()
            except ConductorError as exc:
                self.measures.poll_failed(trio.current_time() - started, exc)
                self.poll_error = str(exc)
                raise
            else:
                self.measures.polled(trio.current_time() - started, len(tasks))
                self.reached, self.poll_error = True, None
            finally:
                self._request_scopes.discard(scope)
        return tasks

    def _poll_failed(self, exc: ConductorError, wait: float, failures: int, last: str) -> str:
        message = str(exc)
        if failures == 1 or message != last:
            log.warning("%s: cannot poll: %s; retrying in %.1f s", self._name, message, wait)
        else:
            log.debug("%s: poll %d failed: %s", self._name, failures, message)
        return message

    def _about(self, task: Task) -> dict[str, object]:
        return about_task(self.agent.agent_id, task.task_id, task.workflow_instance_id)

    def _hand_back(self, task: Task) -> None:
        """Return a task leased while stopping, or never started, to its queue."""
        assert self._work is not None
        assert self._sender is not None
        self._leases.release(task)
        back = TaskResult(
            task_id=task.task_id,
            status=TaskResultStatus.IN_PROGRESS,
            workflow_instance_id=task.workflow_instance_id,
            worker_id=self.agent.worker_id,
            callback_after_seconds=HAND_BACK_AFTER_S,
        )
        self.stats.count(back.status)
        log.debug(
            "%s: stopping, handing task %s back", self._name, task.task_id, extra=self._about(task)
        )
        self._work.start_soon(self._sender.send, back)

    # -- posting results -------------------------------------------------------------------

    async def _post(self, result: TaskResult, body: bytes) -> None:
        """Hand a result on for posting; waits only while posts are backed up."""
        assert self._sender is not None
        if self._client.updates_in_batches:
            self._queue_for_exchange(result, body)
        elif not self._stopping and self._client.updates_lease_next and self._room() > 0:
            # Reserved before waiting, so that the poller does not ask for it too.
            reservation = self._reservations.reserve(1)
            try:
                await self._posts.acquire()
            except BaseException:
                reservation.release()
                raise
            assert self._work is not None
            self._work.start_soon(self._post_and_lease, result, body, reservation)
        else:
            await self._sender.send(result, body)
            self._room_changed.set()

    def _queue_for_exchange(self, result: TaskResult, body: bytes) -> None:
        self._outbox.append((result, body))
        # Only when the exchanger can act on it: with every exchange in flight, the
        # next one to end wakes it anyway (waking it per result costs a loop pass each).
        if self._exchanging < EXCHANGES_IN_FLIGHT:
            self._outbox_changed.set()

    async def _post_and_lease(
        self, result: TaskResult, body: bytes, reservation: Reservation
    ) -> None:
        """update-v2 (a post acquired by the caller, one task reserved in
        ``reservation``): post one result; the answer's task, if any, goes to the buffer."""
        assert self._sender is not None
        started = trio.current_time()
        task: Task | None = None
        try:
            with trio.CancelScope(shield=True) as scope:
                self._request_scopes.add(scope)
                task = await self._client.update_and_poll(body)
        except ConductorError as exc:
            self.measures.update_failed(trio.current_time() - started, exc)
            await self._sender.send(result, body)  # retried there
            return
        finally:
            self._request_scopes.discard(scope)
            self._posts.release()
            reservation.release()
        now = trio.current_time()
        self.measures.updated(now - started, 1, 0 if task is None else 1)
        self._pace.round_trip(now - started, now)
        self._arrived([] if task is None else [task])

    async def _exchange_loop(self) -> None:
        """Post waiting results in batches, each leasing the tasks there is room for."""
        async with trio.open_nursery() as exchanges:
            while self._client.updates_in_batches:
                if self._outbox and self._exchanging < EXCHANGES_IN_FLIGHT:
                    batch = self._take_batch()
                    # Reserved now, with the batch cut, so the room is counted once.
                    count = self._lease_limit.cap(max(0, self._room()), self._client.task_bytes)
                    reservation = self._reservations.reserve(count)
                    self._exchanging += 1
                    exchanges.start_soon(self._exchange, batch, reservation)
                elif self._slots_left == 0 and not self._outbox:
                    return
                else:
                    await self._outbox_changed.wait()
        # The server has no update-batch: what waits goes the other way, as will every
        # later result (_post checks the client).
        batch, self._outbox = self._outbox, []
        for result, body in batch:
            await self._post(result, body)

    def _take_batch(self) -> list[tuple[TaskResult, bytes]]:
        """The oldest results waiting, as many as one update-batch may carry."""
        most = self._lease_limit.cap(MAX_BATCH)
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
        assert self._sender is not None
        count = reservation.count
        started = trio.current_time()
        answer: BatchAnswer | None = None
        try:
            with trio.CancelScope(shield=True) as scope:
                self._request_scopes.add(scope)
                answer = await self._client.update_batch(
                    self.agent.agent_id,
                    [body for _, body in batch],
                    count=count,
                    worker_id=self.agent.worker_id,
                    domain=self.agent.spec.domain,
                )
        except ConductorError as exc:
            self.measures.update_failed(trio.current_time() - started, exc)
            if self._lease_limit.refused(max(count, len(batch)), exc):
                self._outbox[:0] = batch  # again, in a smaller request
                return
            if _too_large(exc) and len(batch) > 1:
                self._batch_bytes = max(1, sum(len(body) for _, body in batch) // 2)
                log.info(
                    "%s: the server refused an update-batch of %d results as too large (%s); "
                    "sending at most %d bytes per batch from now on",
                    self._name,
                    len(batch),
                    exc,
                    self._batch_bytes,
                )
                self._outbox[:0] = batch
                return
            log.debug("%s: update-batch failed (%s); posting one by one", self._name, exc)
            for result, body in batch:
                await self._sender.send(result, body)  # retried there (or replaced)
            return
        finally:
            self._request_scopes.discard(scope)
            self._exchanging -= 1
            reservation.release()
            self._outbox_changed.set()
        if answer is None:
            log.info("%s: the server has no update-batch; posting results one by one", self._name)
            for result, body in batch:
                await self._post(result, body)
            return
        self._sender.server_answered()
        now = trio.current_time()
        self.measures.updated(now - started, len(batch), len(answer.tasks))
        self._pace.round_trip(now - started, now)
        for task_id in answer.unknown_task_ids:
            log.warning(
                "%s: the server no longer knows task %s; its result is dropped",
                self._name,
                task_id,
                extra=about_task(self.agent.agent_id, task_id, None),
            )
        self._arrived(answer.tasks)

    # -- one task ------------------------------------------------------------------------

    async def _slot(self) -> None:
        """One worker slot: run tasks from the buffer until it closes.

        One cancel scope serves every task of the slot (its deadline is the shutdown
        grace, set by :meth:`stop`): entering a scope per task costs more than a no-op
        handler does. A handler the deadline cuts short ends the slot, after its result.
        A sync agent's thread may go straight on to the next buffered task as a call
        returns (:meth:`_follow_in_thread`); the slot learns of it with the result and
        owns it from then on as if it had started it.
        """
        current: _Running | None = None
        """Begun (counted as running) and not yet ended."""
        thread: SlotThread[_Running] = SlotThread(
            f"useragent-{self._name}",
            self._returns,
            follow=None if self.agent.spec.is_async else self._follow_in_thread,
        )
        with trio.CancelScope(deadline=self._deadline) as scope:
            self._task_scopes.add(scope)
            try:
                while (task := await self._buffer.get()) is not None:
                    current = self._begin(_Running(task, self.agent.task_log_level, self._name))
                    if self.agent.spec.is_async:
                        outcome = await invoke_async(
                            self.agent, task, current.logger, self._asyncio_loop
                        )
                        finished, current = self._end(current), None
                        await self._finish(finished, outcome)
                        continue
                    returned = await thread.call(sync_call(self.agent, task, current.logger))
                    while True:
                        finished, current = self._end(current), returned.followed
                        if current is not None:
                            self._buffer.acknowledge()
                            self._begin(current)
                        await self._finish(finished, ended(returned.outcome))
                        if current is None:
                            break
                        returned = await thread.wait()
            finally:
                thread.close()
                self._task_scopes.discard(scope)
                # Cut short (shutdown grace ran out): they still get their result.
                cut_short = [] if current is None else [self._end(current)]
                for orphan in thread.orphans:
                    self._buffer.acknowledge()
                    self._leases.release(orphan.task)
                    cut_short.append(orphan)
                with trio.CancelScope(shield=True):
                    for running in cut_short:
                        await self._finish(running, None)
                self._slots_left -= 1
                self._wake()

    def _begin(self, running: _Running) -> _Running:
        self._running += 1
        self.measures.started += 1
        return running

    def _end(self, running: _Running) -> _Running:
        self._leases.release(running.task)
        self._running -= 1
        return running

    def _follow_in_thread(self) -> tuple[Callable[[], Any], _Running] | None:
        """On a slot's thread as its call returns: the next buffered task's call, begun
        right there, or None (nothing waiting, or stopping) to wait for the slot."""
        if self._stopping:
            return None
        task = self._buffer.take_from_thread()
        if task is None:
            return None
        running = _Running(task, self.agent.task_log_level, self._name)
        return sync_call(self.agent, task, running.logger), running

    async def _finish(self, running: _Running, outcome: AttemptEnd | None) -> None:
        """Encode, record and hand on the result of a task that has run."""
        task = running.task
        took = time.perf_counter() - running.began
        self._pace.handler_ran(took)
        if outcome is None:
            outcome = AttemptEnd.failed(
                "the worker stopped before the task finished (its shutdown grace ran out); "
                "the server hands the task out again"
            )
        result, body = self._encode(task, outcome, running.logger)
        self.stats.count(result.status)
        measures = self.measures
        if result.status is TaskResultStatus.COMPLETED:
            measures.execute_time.success.observe(took)
        else:
            measures.execute_time.failure.observe(took)
            if outcome.error is not None:
                measures.execute_errors[outcome.error] += 1
        measures.result_size.observe(len(body))
        self._report(task, result, running.started)
        if self._client.updates_in_batches:
            self._queue_for_exchange(result, body)  # no checkpoint: nothing to shield
            return
        with trio.CancelScope(shield=True):  # the slot's deadline must not lose a result
            await self._post(result, body)

    def _encode(
        self, task: Task, outcome: AttemptEnd, logger: TaskLogger
    ) -> tuple[TaskResult, bytes]:
        lines = list(logger.lines)
        result = task_result(task, self.agent.worker_id, outcome, lines)
        try:
            return result, encode(result)
        except (TypeError, ValueError) as exc:
            result = task_result(task, self.agent.worker_id, unserializable(exc, self._name), lines)
            return result, encode(result)

    def _report(self, task: Task, result: TaskResult, started: float) -> None:
        ended = time.time()
        if result.status is not TaskResultStatus.COMPLETED:
            log.warning(
                "%s: task %s (attempt %d) %s: %s",
                self._name,
                task.task_id,
                task.attempt,
                result.status.value,
                result.reason_for_incompletion,
                extra=self._about(task),
            )
        elif log.isEnabledFor(logging.DEBUG):  # not even the arguments, per task, otherwise
            log.debug(
                "%s: task %s completed in %.0f ms",
                self._name,
                task.task_id,
                (ended - started) * 1e3,
                extra=self._about(task),
            )
        if self._observer is None:
            return
        platform_task_id, platform_agent_id = platform_ids(task)
        record = ExecutionRecord(
            agent_name=self._name,
            agent_id=self.agent.agent_id,
            task_id=task.task_id,
            workflow_instance_id=task.workflow_instance_id,
            attempt=task.attempt,
            platform_task_id=platform_task_id,
            platform_agent_id=platform_agent_id,
            started_at=started,
            ended_at=ended,
            status=result.status,
            input_data=clean_input(task.input_data),
            output_data=result.output_data,
            reason=result.reason_for_incompletion,
        )
        try:
            self._observer(record)
        except Exception:
            log.exception("%s: the execution observer failed on task %s", self._name, task.task_id)


def _too_large(error: ConductorError) -> bool:
    return isinstance(error, RequestRejected) and error.status == 413
