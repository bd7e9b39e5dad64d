"""What a handler returns, raises and logs is what reaches the server, for that task only."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

import attrs
import httpx
import pytest
import trio

from user_agent_sdk import NonRetryableException, TaskContext
from user_agent_sdk.conductor import Task, TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from .support import (
    FLAVOURS,
    agents,
    all_finished,
    finished,
    running,
    settings_for,
    submit,
    task_logs,
)


@attrs.frozen
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Size:
    width: int
    height: int


RETURNS: dict[str, tuple[Any, dict[str, Any]]] = {
    "dict": ({"total": 3}, {"total": 3}),
    "scalar": (3, {"result": 3}),
    "none": (None, {"result": None}),
    "list": ([1, 2], {"result": [1, 2]}),
    "attrs": (Point(1, 2), {"x": 1, "y": 2}),
    "dataclass": (Size(3, 4), {"width": 3, "height": 4}),
    "nested": ({"at": Point(0, 1)}, {"at": {"x": 0, "y": 1}}),
}


@pytest.mark.parametrize("kind", RETURNS)
async def test_a_return_value_becomes_the_output(
    server: RunningServer, api: httpx.AsyncClient, kind: str
) -> None:
    value, expected = RETURNS[kind]

    async def returns() -> Any:
        return value

    async with running(settings_for(server), agents(returns)):
        done = await finished(api, await submit(api, "returns", {}))
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == expected


async def test_output_json_cannot_hold_fails_the_task_naming_the_type(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    def unsendable() -> dict[str, Any]:
        return {"tags": {"a", "b"}}

    async with running(settings_for(server), agents(unsendable)):
        done = await finished(api, await submit(api, "unsendable", {}, retryCount=0))
    assert done.status is WorkflowStatus.FAILED
    assert done.tasks[-1].status is TaskStatus.FAILED
    assert "a value of type set is not JSON serializable" in (done.reason_for_incompletion or "")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_exception_fails_the_attempt_with_reason_and_traceback_in_the_logs(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    def broken(input_data: dict[str, Any]) -> None:
        raise ValueError(f"bad value {input_data['v']}")

    async with running(settings_for(server, flavour), agents(broken)):
        done = await finished(api, await submit(api, "broken", {"v": 7}, retryCount=0))
    task = done.tasks[-1]
    assert task.status is TaskStatus.FAILED
    assert task.reason_for_incompletion == "ValueError: bad value 7"
    logs = "\n".join(await task_logs(api, task))
    assert "Traceback (most recent call last)" in logs
    assert 'raise ValueError(f"bad value' in logs
    assert "trio" not in logs  # the thread hop is not part of the user's story


async def test_non_retryable_exception_fails_for_good(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def strict() -> None:
        raise NonRetryableException("'user_name' is required")

    async with running(settings_for(server), agents(strict)):
        done = await finished(api, await submit(api, "strict", {}))
    assert [task.status for task in done.tasks] == [TaskStatus.FAILED_WITH_TERMINAL_ERROR]
    assert done.reason_for_incompletion == "'user_name' is required"


async def test_handlers_get_input_without_platform_keys_and_the_platform_ids(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    seen: dict[str, Any] = {}

    async def curious(
        input_data: dict[str, Any],
        task: Task,
        platform_task_id: str | None,
        platform_agent_id: str | None,
        ctx: TaskContext,
    ) -> None:
        seen.update(
            input=input_data,
            task_id=task.task_id,
            platform=(platform_task_id, platform_agent_id),
            ctx=(ctx.agent_id, ctx.attempt, ctx.platform_task_id, ctx.input_data),
        )

    payload = {"num": 1, "__task_id__": "pt-1", "__deployed_workflow_id__": "pa-9", "__other__": 0}
    async with running(settings_for(server, "akabot"), agents(curious)):
        done = await finished(api, await submit(api, "curious", payload))
    assert seen["input"] == {"num": 1}
    assert seen["task_id"] == done.tasks[0].task_id
    assert seen["platform"] == ("pt-1", "pa-9")
    assert seen["ctx"] == ("curious", 1, "pt-1", {"num": 1})


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_log_lines_go_to_their_own_task_only_with_32_running_at_once(
    server: RunningServer, api: httpx.AsyncClient, kind: str
) -> None:
    barrier = threading.Barrier(32, timeout=10)
    gate = trio.Event()
    started = 0

    async def chatty_async(input_data: dict[str, int], logger: logging.Logger) -> None:
        nonlocal started
        started += 1
        if started == 32:
            gate.set()
        await gate.wait()  # all 32 are running now
        for line in range(5):
            logger.info("task %d line %d", input_data["n"], line)
            await trio.sleep(0)

    def chatty_sync(input_data: dict[str, int], logger: logging.Logger) -> None:
        barrier.wait()
        for line in range(5):
            logger.info("task %d line %d", input_data["n"], line)
            time.sleep(0.001)

    handler = chatty_async if kind == "async" else chatty_sync
    registry = agents(handler, agent_id="chatty", workers=32)
    ids = [await submit(api, "chatty", {"n": n}) for n in range(32)]
    async with running(settings_for(server), registry):
        done = await all_finished(api, ids)
    for n, found in enumerate(done):
        assert found.status is WorkflowStatus.COMPLETED
        logs = await task_logs(api, found.tasks[-1])
        assert logs == [f"INFO task {n} line {line}" for line in range(5)]


async def test_task_log_lines_do_not_reach_the_workers_own_log(
    server: RunningServer, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def quiet(logger: logging.Logger) -> None:
        logger.warning("only for the platform")

    caplog.set_level(logging.DEBUG)
    async with running(settings_for(server), agents(quiet)):
        await finished(api, await submit(api, "quiet", {}))
    assert "only for the platform" not in caplog.text
