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
        │                           (_delivery/_exchange.py; while the server offers it)
        ├── poller                  asks for tasks when slots are idle and no post will
        │                           bring them (long polls while the queue is empty;
        │                           _poller.py)
        └── posts (Conductor)       on servers without update-batch: update-v2 per result,
                                    whose answer is the next task (_delivery/_lease_next.py)

The runner owns the slots, the buffer, the pace and the lifecycle (run, stop, abort).
Results go to a :class:`~._delivery.ResultDelivery`, which posts them by the best route
the server offers (:mod:`._delivery`: update-batch, update-v2 or plain updates); tasks
come from the :class:`~._poller.Poller` and from the answers to those posts.

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

import trio

from ..conductor import ConductorClient, Task, TaskResult, TaskResultStatus
from ._asyncio import AsyncioLoop
from ._buffer import TaskBuffer
from ._delivery import ResultDelivery
from ._invoke import Agent, ended, invoke_async, sync_call
from ._leases import LeaseKeeper
from ._logs import TaskLogger, about_task
from ._measures import AgentMeasures
from ._observer import ExecutionObserver
from ._outcome import AttemptEnd
from ._pace import Pace
from ._poller import Poller
from ._refusals import AgentFailed, LeaseLimit
from ._requests import AgentRequests
from ._reservations import Reservations
from ._results import AgentStats, ResultRecorder
from ._sender import ResultSender
from ._signal import Signal
from ._threads import Returns, SlotThread

log = logging.getLogger("user_agent_sdk.runtime")

FINAL_SEND_S = 10.0
"""After a stop, how long results still being retried may take to reach the server."""
HAND_BACK_AFTER_S = 1
"""A task polled while stopping goes back to its queue, visible again after this long."""


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
        self._client = client
        self._name = agent.spec.name
        self._recorder = ResultRecorder(agent, self.stats, self.measures, observer)
        self._buffer = TaskBuffer()
        self._pace = Pace(agent.workers)
        self._lease_limit = LeaseLimit(self._name)
        self.failure: AgentFailed | None = None
        """Why the agent stopped on its own, if it did (the server refuses its polls)."""
        self._stopping = False
        self._deadline = math.inf
        self._task_scopes: set[trio.CancelScope] = set()
        self._running = 0
        self._slots_left = 0
        self._room_changed = Signal()
        self._reservations = Reservations(released=self._room_changed.set)
        """Tasks asked for by requests in flight (polls, update-batch, update-v2)."""
        self._poller_scope = trio.CancelScope()
        self._request_scopes: set[trio.CancelScope] = set()
        self._work: trio.Nursery | None = None
        self._sender: ResultSender | None = None
        self._delivery: ResultDelivery | None = None
        self._poller: Poller | None = None
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
    def reached(self) -> bool:
        """True once the server has answered a poll of this agent."""
        return self._poller is not None and self._poller.reached

    @property
    def poll_error(self) -> str | None:
        """Why the last poll failed, or None when it got an answer."""
        return None if self._poller is None else self._poller.error

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
                    requests = AgentRequests(
                        agent=self.agent,
                        client=self._client,
                        slots=self,
                        sender=self._sender,
                        work=work,
                        reservations=self._reservations,
                        lease_limit=self._lease_limit,
                        pace=self._pace,
                        measures=self.measures,
                        room_changed=self._room_changed,
                        scopes=self._request_scopes,
                    )
                    self._delivery = ResultDelivery(requests)
                    self._poller = Poller(requests, self._delivery, self._fail)
                    self._returns = Returns(trio.lowlevel.current_trio_token())
                    self._slots_left = self.agent.workers
                    for _ in range(self.agent.workers):
                        work.start_soon(self._slot)
                    work.start_soon(self._delivery.run)
                    work.start_soon(self._poll, self._poller)
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

    # -- what the worker may ask for (the poller's and the delivery's view: Slots) ----------

    def room(self) -> int:
        """Tasks to ask for now: idle slots and the reserve, less what is on its way."""
        if self._stopping:
            return 0
        held = self._running + len(self._buffer) + self._reservations.total
        return self.agent.workers + self._pace.reserve() - held

    def arrived(self, tasks: list[Task]) -> None:
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

    def _wake(self) -> None:
        if self._delivery is not None:
            self._delivery.wake()
        self._room_changed.set()

    async def _poll(self, poller: Poller) -> None:
        with self._poller_scope:
            await poller.run()

    def _fail(self, error: AgentFailed) -> None:
        """Stop this agent for good: running tasks still finish and report."""
        log.error("%s", error)
        self.failure = error
        self.stop(self._deadline)

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
            "%s: stopping, handing task %s back",
            self._name,
            task.task_id,
            extra=about_task(self.agent.agent_id, task.task_id, task.workflow_instance_id),
        )
        self._work.start_soon(self._sender.send, back)

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
                if self._slots_left == 0 and self._delivery is not None:
                    self._delivery.close()
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
        took = time.perf_counter() - running.began
        self._pace.handler_ran(took)
        if outcome is None:
            outcome = AttemptEnd.failed(
                "the worker stopped before the task finished (its shutdown grace ran out); "
                "the server hands the task out again"
            )
        result, body = self._recorder.record(
            running.task, outcome, running.logger, running.started, took
        )
        assert self._delivery is not None
        poster = self._delivery.take(result, body)  # update-batch: no checkpoint
        if poster is None:
            return
        with trio.CancelScope(shield=True):  # the slot's deadline must not lose a result
            await poster.post(result, body)
