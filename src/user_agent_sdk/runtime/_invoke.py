"""Calling a handler: its arguments by parameter name; async ones in the slot's task, sync
ones as calls for the slot's thread (see ``_threads``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import outcome

from .._registry import AgentSpec, Injection, TaskContext
from ..conductor import JsonObject, Task
from ._asyncio import AsyncioLoop
from ._logs import TaskLogger
from ._outcome import AttemptEnd

PLATFORM_TASK_ID = "__task_id__"
PLATFORM_AGENT_ID = "__deployed_workflow_id__"


@attrs.frozen
class Agent:
    """An :class:`AgentSpec` resolved against the settings: what one agent runner serves."""

    spec: AgentSpec
    agent_id: str
    workers: int
    worker_id: str
    task_log_level: int
    on_asyncio: bool = False
    """An ``async def`` handler written for asyncio: each call is an asyncio task."""


def clean_input(input_data: JsonObject) -> JsonObject:
    """The input without the platform's ``__x__`` keys."""
    return {
        key: value
        for key, value in input_data.items()
        if not (key.startswith("__") and key.endswith("__") and len(key) > 4)
    }


def platform_ids(task: Task) -> tuple[str | None, str | None]:
    """``(platform_task_id, platform_agent_id)`` from the task's input."""
    data = task.input_data
    return _text_or_none(data.get(PLATFORM_TASK_ID)), _text_or_none(data.get(PLATFORM_AGENT_ID))


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def arguments(agent: Agent, task: Task, logger: TaskLogger) -> dict[str, Any]:
    """The keyword arguments for one call of the agent's handler."""
    kwargs: dict[str, Any] = {}
    for name, injection in agent.spec.injections:
        match injection:
            case Injection.INPUT_DATA:
                kwargs[name] = clean_input(task.input_data)
            case Injection.LOGGER:
                kwargs[name] = logger
            case Injection.TASK:
                kwargs[name] = task
            case Injection.PLATFORM_TASK_ID:
                kwargs[name] = platform_ids(task)[0]
            case Injection.PLATFORM_AGENT_ID:
                kwargs[name] = platform_ids(task)[1]
            case Injection.CONTEXT:
                kwargs[name] = context(agent, task, logger)
    return kwargs


def context(agent: Agent, task: Task, logger: TaskLogger) -> TaskContext:
    platform_task_id, platform_agent_id = platform_ids(task)
    return TaskContext(
        task=task,
        input_data=clean_input(task.input_data),
        logger=logger,
        agent_id=agent.agent_id,
        worker_id=agent.worker_id,
        platform_task_id=platform_task_id,
        platform_agent_id=platform_agent_id,
    )


async def invoke_async(
    agent: Agent, task: Task, logger: TaskLogger, asyncio_loop: AsyncioLoop | None
) -> AttemptEnd:
    """Run an ``async def`` handler once and say how it ended: a trio one in the caller's
    task, an asyncio one as a task of ``asyncio_loop``. Cancellation propagates."""
    if agent.on_asyncio:
        assert asyncio_loop is not None, "an asyncio handler needs an asyncio loop"
        try:
            call = functools.partial(agent.spec.handler, **arguments(agent, task, logger))
        except Exception as exc:
            return AttemptEnd.raised(exc)
        return _with_hint(agent, ended(await asyncio_loop.call(call)))
    try:
        value = await agent.spec.handler(**arguments(agent, task, logger))
    except (Exception, SystemExit) as exc:
        return _with_hint(agent, AttemptEnd.raised(exc))
    return AttemptEnd.returned(value)


_WRONG_LOOP = {
    # What trio raises when awaited outside trio, and asyncio outside asyncio.
    True: (("must be called from async context", "got bad yield: <class 'trio."), "trio"),
    False: (("no running event loop",), "asyncio"),
}


def _with_hint(agent: Agent, ended: AttemptEnd) -> AttemptEnd:
    """``ended``, its reason telling how to fix a handler run on the wrong event loop."""
    symptoms, wanted = _WRONG_LOOP[agent.on_asyncio]
    if ended.reason is None or not any(symptom in ended.reason for symptom in symptoms):
        return ended
    running = "asyncio" if agent.on_asyncio else "trio"
    hint = (
        f" (the handler seems written for {wanted} but runs on {running}: "
        f"@user_agent(event_loop={wanted!r}) or useragent run --event-loop {wanted})"
    )
    return attrs.evolve(ended, reason=ended.reason + hint)


def sync_call(agent: Agent, task: Task, logger: TaskLogger) -> Callable[[], Any]:
    """A sync handler's call for one task, to run on a slot's thread; never raises (a
    problem building the arguments is raised by the call instead)."""
    try:
        return functools.partial(agent.spec.handler, **arguments(agent, task, logger))
    except Exception as exc:
        problem = exc

        def fail() -> Any:
            raise problem

        return fail


def ended(result: outcome.Outcome[Any]) -> AttemptEnd:
    """How a sync handler's call ended, from what its thread captured."""
    try:
        value = result.unwrap()
    except (Exception, SystemExit) as exc:
        return AttemptEnd.raised(exc)
    return AttemptEnd.returned(value)
