"""The result sender: posts results, retrying failed posts without holding a worker slot."""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from ..conductor import (
    ConductorClient,
    ConductorError,
    RequestRejected,
    TaskResult,
    TaskResultStatus,
)
from ._backoff import Backoff
from ._logs import about_task
from ._measures import AgentMeasures
from ._outcome import encode

log = logging.getLogger("user_agent_sdk.runtime")


class ResultSender:
    """Delivers each result in its own task of ``nursery`` until the server has it.

    A post that fails for a reason that may pass (the server is down, restarting, or
    refused a stale token) is retried with a growing, jittered wait, cut short as soon as
    the server is heard from again (:meth:`server_answered`, or another post getting
    through), so results reach a server that is back before their leases run out. A
    result the server
    refuses outright is replaced by a bare ``FAILED`` naming the refusal, so the task is
    retried rather than left leased. :meth:`send` waits only while ``concurrency`` posts
    are already under way, which is how a dead server eventually stops the pollers too.
    """

    def __init__(
        self,
        client: ConductorClient,
        nursery: trio.Nursery,
        *,
        concurrency: int,
        agent: str,
        first_retry_s: float = 0.1,
        on_replaced: Callable[[TaskResultStatus, TaskResultStatus], None] | None = None,
        measures: AgentMeasures | None = None,
        agent_id: str | None = None,
    ) -> None:
        """``first_retry_s``: the wait after a first failed post (it doubles up to 10 s);
        ``on_replaced(was, now)``: a refused result was replaced by one of status ``now``."""
        self._on_replaced = on_replaced
        self._agent_id = agent_id
        self._measures = AgentMeasures() if measures is None else measures
        self._first_retry_s = first_retry_s
        self._client = client
        self._nursery = nursery
        self._room = trio.Semaphore(concurrency)
        self._agent = agent
        self.pending = 0
        self._retrying = 0
        self._answered = trio.Event()
        self.lost: list[str] = []
        """Ids of tasks whose result was never delivered (cancelled while retrying)."""

    def server_answered(self) -> None:
        """The server answered a request: posts waiting to retry try again at once."""
        if self._retrying:
            self._answered.set()
            self._answered = trio.Event()

    async def send(self, result: TaskResult, body: bytes | None = None) -> None:
        """Queue ``result`` (encoded as ``body`` when already done) for delivery."""
        await self._room.acquire()
        self.pending += 1
        self._nursery.start_soon(self._deliver, result, encode(result) if body is None else body)

    def _about(self, result: TaskResult) -> dict[str, object]:
        return about_task(self._agent_id, result.task_id, result.workflow_instance_id)

    async def _deliver(self, result: TaskResult, body: bytes) -> None:
        delivered = False
        backoff = Backoff(first=self._first_retry_s, limit=10.0, jitter=True)
        try:
            while True:
                started = trio.current_time()
                try:
                    await self._client.update_json(body)
                except RequestRejected as exc:
                    self._measures.update_failed(trio.current_time() - started, exc)
                    replacement = self._replacement(result, len(body), exc)
                    if replacement is None:
                        delivered = True  # nothing more can be done with it
                        return
                    if self._on_replaced is not None:
                        self._on_replaced(result.status, replacement.status)
                    result, body = replacement, encode(replacement)
                except ConductorError as exc:
                    self._measures.update_failed(trio.current_time() - started, exc)
                    wait = backoff.next()
                    level = logging.WARNING if backoff.failures == 1 else logging.DEBUG
                    log.log(
                        level,
                        "%s: cannot post the result of task %s (%s); retrying in %.1f s",
                        self._agent,
                        result.task_id,
                        exc,
                        wait,
                        extra=self._about(result),
                    )
                    await self._wait_to_retry(wait)
                else:
                    delivered = True
                    self._measures.updated(trio.current_time() - started, 1)
                    self.server_answered()
                    if backoff.failures:
                        log.info(
                            "%s: posted the result of task %s",
                            self._agent,
                            result.task_id,
                            extra=self._about(result),
                        )
                    return
        finally:
            self.pending -= 1
            self._room.release()
            if not delivered:
                self.lost.append(result.task_id)

    async def _wait_to_retry(self, wait: float) -> None:
        self._retrying += 1
        try:
            with trio.move_on_after(wait):
                await self._answered.wait()
        finally:
            self._retrying -= 1

    def _replacement(
        self, result: TaskResult, size: int, exc: RequestRejected
    ) -> TaskResult | None:
        if exc.status == 404:
            log.warning(
                "%s: the server no longer knows task %s; its result is dropped (%s)",
                self._agent,
                result.task_id,
                exc,
                extra=self._about(result),
            )
            return None
        if exc.status == 413:
            # The same handler would most likely produce as much again: no retry.
            status = TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
            reason = f"the task's result ({size} bytes) is larger than the server accepts: {exc}"
        else:
            status = TaskResultStatus.FAILED
            reason = f"the server refused the task's result: {exc}"
        bare = TaskResult(
            task_id=result.task_id,
            status=status,
            workflow_instance_id=result.workflow_instance_id,
            worker_id=result.worker_id,
            reason_for_incompletion=reason[:500],
        )
        if result == bare:
            log.error(
                "%s: the server refused the result of task %s: %s",
                self._agent,
                result.task_id,
                exc,
                extra=self._about(result),
            )
            return None
        log.warning(
            "%s: the server refused the result of task %s (%s); reporting it FAILED instead",
            self._agent,
            result.task_id,
            exc,
            extra=self._about(result),
        )
        return bare
