"""Calling a handler: its arguments by parameter name, sync ones in a worker thread."""

from __future__ import annotations

import functools
from typing import Any

import attrs

from .._registry import AgentSpec, Injection, TaskContext
from ..conductor import JsonObject, Task
from ._logs import TaskLogger
from ._outcome import Outcome
from ._threads import SlotThread

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


async def invoke(agent: Agent, task: Task, logger: TaskLogger, thread: SlotThread) -> Outcome:
    """Run the handler once and say how it ended.

    Async handlers run in the caller's task; sync ones on the slot's ``thread``.
    Cancellation propagates (a sync handler's thread is abandoned and runs on unobserved).
    """
    handler = agent.spec.handler
    kwargs = arguments(agent, task, logger)
    try:
        if agent.spec.is_async:
            value = await handler(**kwargs)
        else:
            value = await thread.run(functools.partial(handler, **kwargs))
    except (Exception, SystemExit) as exc:
        return Outcome.raised(exc)
    return Outcome.returned(value)
