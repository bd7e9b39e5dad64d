"""Test agents in your own suite: an in-memory ``useragent server`` and one task through an agent.

Works from trio and from asyncio (found with :mod:`sniffio`), so from pytest with
pytest-trio or with anyio's plugin on either backend::

    from user_agent_sdk.conductor import TaskResultStatus
    from user_agent_sdk.testing import embedded_server, run_task

    async def test_greet() -> None:
        async with embedded_server() as server:
            result = await run_task(greet, {"name": "Ada"}, server=server)
        assert result.status is TaskResultStatus.COMPLETED
        assert result.output == {"greeting": "hello Ada"}

Everything goes through the real server over loopback and the real runtime: the task is
polled, run, reported and logged exactly as under ``useragent run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import attrs
import httpx
import sniffio
import trio

from ._registry import AgentSpec, _active, default_registry, make_spec
from .conductor import (
    OrkesKey,
    Task,
    TaskExecLog,
    TaskResultStatus,
    Workflow,
    from_json_obj,
)
from .config import Settings
from .runtime import running
from .server import MEMORY, RunningServer, ServerConfig, serve

__all__ = ["TaskOutcome", "embedded_server", "run_task"]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0
"""How long :func:`run_task` waits for its task to end, unless told otherwise."""
POLL_INTERVAL_MS = 100
"""The longest poll of an agent served by :func:`run_task`: a stop waits for the poll in
flight, so a longer one would add up to a second to every call."""
_SERVER_OWNED = frozenset({"api_url", "flavour", "credentials", "source"})
"""Settings :func:`run_task` takes from the server, not from its caller."""


@attrs.frozen
class TaskOutcome:
    """One task as the server has it once it ended: what the agent reported, and its logs."""

    status: TaskResultStatus
    """What the worker reported: ``COMPLETED``, ``FAILED`` (an exception; the server
    would retry it) or ``FAILED_WITH_TERMINAL_ERROR`` (:class:`NonRetryableException`)."""
    output: dict[str, Any]
    """The task's output: the handler's dict as is, ``{"result": value}`` for other values,
    ``{}`` when it failed."""
    reason: str | None
    """``reasonForIncompletion``: why it failed (``"ValueError: ..."``, or the message of a
    :class:`NonRetryableException`); None when it completed."""
    logs: list[str]
    """The task's log lines as ``GET /api/tasks/{taskId}/log`` returns them, in order:
    ``"LEVEL message"`` for each line the handler's ``logger`` wrote, then, when the
    handler raised, the traceback as one last line."""
    task: Task
    """The task itself, every field as the server reports it."""


@asynccontextmanager
async def embedded_server(**config: Any) -> AsyncIterator[RunningServer]:
    """A running in-memory ``useragent server`` for the duration of the block.

    ``config`` holds fields of :class:`~user_agent_sdk.server.ServerConfig`; by default it
    listens on 127.0.0.1 on a free port with an in-memory database, so every block starts
    empty and nothing is written to disk. ``server.api_url`` is what a worker or a
    Conductor client points at.

    Under trio the server runs in a nursery of its own inside the caller's task; under
    asyncio it runs in a trio event loop on a thread of its own. The block begins once the
    server accepts connections. Leaving it, normally, by an exception or by cancellation,
    closes the listeners and every connection before the block's exit completes. An
    exception from the block comes out as itself, not inside an exception group.
    """
    settled = ServerConfig(**{"host": "127.0.0.1", "port": 0, "db": MEMORY, **config})
    library = sniffio.current_async_library()
    if library == "trio":
        async with _ungrouped(_in_nursery(settled)) as server:
            yield server
    elif library == "asyncio":
        async with _on_own_thread(settled) as server:
            yield server
    else:
        raise RuntimeError(f"embedded_server() works under trio or asyncio, not {library}")


async def run_task(
    agent: Callable[..., Any] | AgentSpec,
    input_data: Mapping[str, Any],
    *,
    server: RunningServer | None = None,
    # Not only a cancel scope: on expiry the handler is aborted rather than given the
    # grace to finish, and the error names the task.
    timeout: float | None = DEFAULT_TIMEOUT_S,  # noqa: ASYNC109
    **settings: Any,
) -> TaskOutcome:
    """Run one task with ``input_data`` through ``agent`` and return how it ended.

    ``agent`` is a function decorated with ``@user_agent`` (it runs with the options it
    was registered with: its ``agent_id``, ``event_loop``...), an :class:`AgentSpec`, or
    any other function, which runs as ``@user_agent()`` would register it. An agent
    without an ``agent_id`` serves the task type named after its function (or
    ``agent_id=`` given here, as in ``credentials.json``).

    The task is submitted to ``server`` (by default a new :func:`embedded_server` for this
    call) as a one-task workflow with no retries, and served by the runtime with one
    worker until it ends, then the runtime stops. A handler that raises ends it
    ``FAILED`` after this one attempt. ``async def`` handlers written for asyncio run on
    the caller's event loop under asyncio, and on a loop of the runtime's own under trio.

    ``settings`` are fields of :class:`~user_agent_sdk.Settings` (``event_loop``,
    ``task_log_level``, ``workers``, ``grace_s``, ``agent_id``...); where to connect comes
    from the server. Another agent of the same task type polling the same server may take
    the task instead; its outcome is returned just the same.

    Raises :class:`TimeoutError` when the task has not ended ``timeout`` seconds after it
    was submitted (None: no limit); the handler is then cancelled. A cancellation of the
    caller stops the runtime as :func:`~user_agent_sdk.running` does: the running handler
    gets ``grace_s`` to finish.
    """
    spec = _serving_spec(agent)
    if not isinstance(input_data, Mapping):
        raise TypeError(
            f"run_task: input_data must be a mapping (the task's JSON object), "
            f"got {type(input_data).__name__}"
        )
    if server is None:
        async with embedded_server() as own:
            return await _run_on(own, spec, dict(input_data), timeout, settings)
    return await _run_on(server, spec, dict(input_data), timeout, settings)


# -- run_task --------------------------------------------------------------------------------


def _serving_spec(agent: Callable[..., Any] | AgentSpec) -> AgentSpec:
    """The spec to serve ``agent`` with: its registration if it has one, polling briefly."""
    if isinstance(agent, AgentSpec):
        spec = agent
    elif callable(agent):
        spec = _registered(agent) or make_spec(agent)
    else:
        raise TypeError(
            f"run_task: agent must be a function or an AgentSpec, got {type(agent).__name__}"
        )
    return attrs.evolve(spec, poll_interval_ms=min(spec.poll_interval_ms, POLL_INTERVAL_MS))


def _registered(handler: Callable[..., Any]) -> AgentSpec | None:
    """The latest registration of ``handler`` (``@user_agent`` returns it unchanged)."""
    for registry in (_active.get(), default_registry):
        for spec in reversed(registry.specs):
            if spec.handler is handler:
                return spec
    return None


def _settings_for(server: RunningServer, spec: AgentSpec, changes: dict[str, Any]) -> Settings:
    taken = sorted(_SERVER_OWNED.intersection(changes))
    if taken:
        raise TypeError(
            f"run_task: {', '.join(taken)} come from the server; pass server= to choose it"
        )
    credentials = server.config.credentials
    base: dict[str, Any] = {"agent_id": spec.name, "workers": 1}
    return Settings(
        api_url=server.api_url,
        credentials=OrkesKey(credentials.client_id, credentials.client_secret),
        source="run_task",
        **{**base, **changes},
    )


async def _run_on(
    server: RunningServer,
    spec: AgentSpec,
    input_data: dict[str, Any],
    limit_s: float | None,
    changes: dict[str, Any],
) -> TaskOutcome:
    settings = _settings_for(server, spec, changes)
    task_type = spec.agent_id or settings.agent_id or spec.name  # as resolve_agents does
    async with httpx.AsyncClient(base_url=f"{server.api_url}/", timeout=10) as http:
        http.headers["X-Authorization"] = await _token(http, server)
        task: Task | None = None
        async with _ungrouped(running(settings, [spec])) as runtime:
            workflow_id = await _submit(http, task_type, input_data)
            with anyio.move_on_after(limit_s):
                task = await _ended_task(http, workflow_id)
            if task is None:
                runtime.abort()  # the handler is stuck: do not wait out the grace for it
        if task is None:
            raise TimeoutError(
                f"run_task: the task of {spec.name} (workflow {workflow_id}) had not ended "
                f"after {limit_s} s; pass a longer timeout= if it needs more"
            )
        return TaskOutcome(
            status=_reported_status(task),
            output=task.output_data,
            reason=task.reason_for_incompletion,
            logs=await _logs(http, task),
            task=task,
        )


async def _token(http: httpx.AsyncClient, server: RunningServer) -> str:
    """A token for the server's credentials (one without auth hands it out to anyone)."""
    credentials = server.config.credentials
    body = {"keyId": credentials.client_id, "keySecret": credentials.client_secret}
    response = await http.post("token", json=body)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def _submit(http: httpx.AsyncClient, task_type: str, input_data: dict[str, Any]) -> str:
    """Start a one-task workflow of ``task_type`` with one attempt only; its id."""
    response = await http.post(
        f"workflow/{quote(task_type, safe='')}", json=input_data, params={"retryCount": 0}
    )
    response.raise_for_status()
    return response.text.strip()


async def _ended_task(http: httpx.AsyncClient, workflow_id: str) -> Task:
    """The workflow's last task attempt, once the workflow has ended."""
    delay = 0.005
    while True:
        response = await http.get(f"workflow/{workflow_id}", params={"includeTasks": "true"})
        response.raise_for_status()
        workflow = from_json_obj(response.json(), Workflow)
        if workflow.status.is_terminal and workflow.tasks:
            return workflow.tasks[-1]
        await anyio.sleep(delay)
        delay = min(delay * 2, 0.05)


def _reported_status(task: Task) -> TaskResultStatus:
    try:
        return TaskResultStatus(task.status.value)
    except ValueError:
        raise RuntimeError(
            f"run_task: task {task.task_id} ended {task.status.value} on the server, which no "
            f"worker reports (reason: {task.reason_for_incompletion})"
        ) from None


async def _logs(http: httpx.AsyncClient, task: Task) -> list[str]:
    response = await http.get(f"tasks/{task.task_id}/log")
    response.raise_for_status()
    return [from_json_obj(line, TaskExecLog).log for line in response.json()]


# -- embedded_server -------------------------------------------------------------------------


@asynccontextmanager
async def _in_nursery(config: ServerConfig) -> AsyncIterator[RunningServer]:
    async with trio.open_nursery() as nursery:
        server: RunningServer = await nursery.start(serve, config)
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def _on_own_thread(config: ServerConfig) -> AsyncIterator[RunningServer]:
    """The server in a trio loop on a thread of its own, for an asyncio caller."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[tuple[RunningServer, Callable[[], None]]] = loop.create_future()
    finished: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        # On the asyncio loop's thread, once trio.run has returned. An error is raised
        # once: from the start if the server never started, else from the exit.
        if not started.done():
            started.set_exception(error or RuntimeError("the server stopped before it started"))
            finished.set_result(None)
        elif error is not None:
            finished.set_exception(error)
        else:
            finished.set_result(None)

    async def main() -> None:
        token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            server: RunningServer = await nursery.start(serve, config)

            def stop() -> None:  # from any thread
                with contextlib.suppress(trio.RunFinishedError):
                    token.run_sync_soon(nursery.cancel_scope.cancel)

            loop.call_soon_threadsafe(_set_result, started, (server, stop))

    def thread_main() -> None:
        error: BaseException | None = None
        try:
            trio.run(main)
        except BaseException as exc:  # handed to the asyncio side, raised there
            error = _only(exc)
        with contextlib.suppress(RuntimeError):  # the asyncio loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, error)

    thread = threading.Thread(target=thread_main, name="useragent-test-server", daemon=True)
    thread.start()
    try:
        # Shielded: cancelling the wait must not cancel the future, whose result is
        # needed to stop the server once it has started.
        server, stop = await asyncio.shield(started)
    except asyncio.CancelledError:
        started.add_done_callback(_stop_when_started)
        raise
    try:
        yield server
    finally:
        stop()
        try:
            await asyncio.shield(finished)
        finally:
            if finished.done():  # settled by the thread's last act: the join is immediate
                thread.join(timeout=1)


def _set_result(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _stop_when_started(started: asyncio.Future[tuple[RunningServer, Callable[[], None]]]) -> None:
    if not started.cancelled() and started.exception() is None:
        started.result()[1]()


@asynccontextmanager
async def _ungrouped(manager: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """``manager``, but an exception group holding a single exception comes out as that
    exception: a trio nursery groups even the lone error of the block it wraps."""
    error: BaseException | None = None
    try:
        async with manager as value:
            yield value
    except BaseExceptionGroup as group:
        error = _only(group)
        if error is group:
            raise
    if error is not None:
        raise error  # outside the except clause: not chained to the group


def _only(error: BaseException) -> BaseException:
    """The one exception inside nested groups, when there is exactly one."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
