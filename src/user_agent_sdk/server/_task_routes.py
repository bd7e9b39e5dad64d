"""The task routes: polls, results, logs, queue sizes, and reading a task.

Every answer that hands out tasks goes through :class:`~._replays.LeaseReplays`, so a
retry with the same ``Idempotency-Key`` gets the same tasks and an answer that could not
be delivered gives its tasks back.
"""

from __future__ import annotations

import json

from ..models import TaskResult, to_json_obj
from ._engine import DuplicateResult, TaskEngine, TaskNotFound
from ._http import HTTPError, Request, Response
from ._records import TaskAttempt
from ._replays import LeaseReplays, Render
from ._requests import decode, int_query, replay_key
from ._routing import Route
from ._views import task_json

MAX_POLL_TIMEOUT_MS = 60_000


class TaskRoutes:
    """Conductor's task endpoints, and our update-batch, over one engine."""

    def __init__(self, engine: TaskEngine, max_batch: int) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._replays = LeaseReplays(engine)

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/tasks/poll/batch/{task_type}", self._batch_poll),
            Route("GET", "/api/tasks/poll/{task_type}", self._poll_one),
            Route("GET", "/api/tasks/external/poll/{task_type}", self._poll_one),
            Route("POST", "/api/tasks", self._update),
            Route("POST", "/api/tasks/external", self._update),
            Route("POST", "/api/tasks/update-v2", self._update_and_poll),
            Route("POST", "/api/tasks/update-batch/{task_type}", self._update_batch),
            Route("GET", "/api/tasks/queue/size", self._queue_size),
            Route("GET", "/api/tasks/queue/sizes", self._queue_sizes),
            Route("POST", "/api/tasks/{task_id}/log", self._add_log),
            Route("GET", "/api/tasks/{task_id}/log", self._logs),
            Route("GET", "/api/tasks/{task_id}", self._get_task),
        ]

    async def _batch_poll(self, request: Request, params: dict[str, str]) -> Response:
        count = int_query(request, "count", 1, 1, self._max_batch)
        timeout_ms = int_query(request, "timeout", 100, 0, MAX_POLL_TIMEOUT_MS)

        async def lease() -> tuple[list[TaskAttempt], Render]:
            tasks = await self._engine.poll(
                params["task_type"],
                worker_id=request.query_value("workerid"),
                domain=request.query_value("domain") or "",
                count=count,
                timeout_ms=timeout_ms,
            )
            return tasks, _task_list

        return await self._replays.answer(replay_key(request), lease)

    async def _poll_one(self, request: Request, params: dict[str, str]) -> Response:
        async def lease() -> tuple[list[TaskAttempt], Render]:
            tasks = await self._engine.poll(
                params["task_type"],
                worker_id=request.query_value("workerid"),
                domain=request.query_value("domain") or "",
            )
            return tasks, _one_task

        return await self._replays.answer(replay_key(request), lease)

    async def _update(self, request: Request, params: dict[str, str]) -> Response:
        result = decode(request, TaskResult)
        try:
            await self._engine.update(result)
        except TaskNotFound:
            raise _no_task(result.task_id) from None
        return Response.text(result.task_id)

    async def _update_and_poll(self, request: Request, params: dict[str, str]) -> Response:
        result = decode(request, TaskResult)

        async def lease() -> tuple[list[TaskAttempt], Render]:
            try:
                task = await self._engine.update_and_poll(result)
            except TaskNotFound:
                raise _no_task(result.task_id) from None
            return ([] if task is None else [task]), _one_task

        return await self._replays.answer(replay_key(request), lease)

    async def _update_batch(self, request: Request, params: dict[str, str]) -> Response:
        """Our extension: many results, and the next tasks of one queue, in one request.

        The body is a JSON list of TaskResults; the query is a batch poll's (``workerid``,
        ``count``, ``domain``; ``count=0`` leases nothing). The answer is
        ``{"tasks": [...], "unknownTaskIds": [...]}``: the tasks leased, and the results
        that changed nothing because no task has their id.
        """
        results = decode(request, list[TaskResult])
        if len(results) > self._max_batch:
            raise HTTPError(400, f"at most {self._max_batch} results per batch, got {len(results)}")
        count = int_query(request, "count", 0, 0, self._max_batch)

        async def lease() -> tuple[list[TaskAttempt], Render]:
            try:
                unknown, tasks = await self._engine.update_batch(
                    results,
                    (params["task_type"], request.query_value("domain") or ""),
                    count=count,
                    worker_id=request.query_value("workerid"),
                )
            except DuplicateResult as exc:
                raise HTTPError(400, str(exc)) from None

            def render(handed_out: list[TaskAttempt]) -> Response:
                tasks_json = [task_json(task) for task in handed_out]
                return Response.json({"tasks": tasks_json, "unknownTaskIds": unknown})

            return tasks, render

        return await self._replays.answer(replay_key(request), lease)

    async def _queue_size(self, request: Request, params: dict[str, str]) -> Response:
        task_type = request.query_value("taskType")
        if not task_type:
            raise HTTPError(400, "query parameter taskType is required")
        return Response.json(self._engine.queue_size(task_type))

    async def _queue_sizes(self, request: Request, params: dict[str, str]) -> Response:
        types = request.query.get("taskType", [])
        return Response.json({name: self._engine.queue_size(name) for name in types})

    async def _add_log(self, request: Request, params: dict[str, str]) -> Response:
        text = request.body.decode("utf-8", "replace")
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):  # clients send the line as a JSON string
            text = decoded
        try:
            await self._engine.add_log(params["task_id"], text)
        except TaskNotFound:
            raise _no_task(params["task_id"]) from None
        return Response()

    async def _logs(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(to_json_obj(self._engine.logs(params["task_id"])))

    async def _get_task(self, request: Request, params: dict[str, str]) -> Response:
        task = self._engine.task(params["task_id"])
        return Response.no_content() if task is None else Response.json(to_json_obj(task))


def _no_task(task_id: str) -> HTTPError:
    return HTTPError(404, f"no task found with id {task_id!r}")


def _task_list(tasks: list[TaskAttempt]) -> Response:
    """A batch poll's answer: the tasks, or 204 for none."""
    return Response.json([task_json(task) for task in tasks]) if tasks else Response.no_content()


def _one_task(tasks: list[TaskAttempt]) -> Response:
    """A single poll's (and update-v2's) answer: the task, or 204 for none."""
    return Response.json(task_json(tasks[0])) if tasks else Response.no_content()
