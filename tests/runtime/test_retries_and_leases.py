"""End to end with the embedded server: retries as the seed promises, and leases kept alive."""

from __future__ import annotations

import time

import httpx
import pytest
import trio

from user_agent_sdk import NonRetryableException, TaskContext
from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from .support import FLAVOURS, agents, finished, running, settings_for, submit


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_handler_that_fails_twice_completes_on_attempt_3(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    def flaky(ctx: TaskContext) -> dict[str, int]:
        if ctx.attempt < 3:
            raise RuntimeError(f"attempt {ctx.attempt} failed")
        return {"attempt": ctx.attempt}

    async with running(settings_for(server, flavour), agents(flaky)):
        done = await finished(api, await submit(api, "flaky", {}))
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == {"attempt": 3}
    assert [task.status for task in done.tasks] == [
        TaskStatus.FAILED,
        TaskStatus.FAILED,
        TaskStatus.COMPLETED,
    ]
    assert [task.retry_count for task in done.tasks] == [0, 1, 2]


async def test_a_handler_that_always_fails_ends_failed_after_exactly_3_attempts(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def hopeless() -> None:
        raise RuntimeError("never works")

    async with running(settings_for(server), agents(hopeless)):
        done = await finished(api, await submit(api, "hopeless", {}))
        await trio.sleep(0.3)  # time for a (wrong) fourth attempt to show up
        done = await finished(api, done.workflow_id)
    assert done.status is WorkflowStatus.FAILED
    assert [task.status for task in done.tasks] == [TaskStatus.FAILED] * 3
    assert done.reason_for_incompletion == "RuntimeError: never works"


async def test_non_retryable_exception_ends_after_one_attempt(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    def picky() -> None:
        raise NonRetryableException("'user_name' is required")

    async with running(settings_for(server, "akabot"), agents(picky)):
        done = await finished(api, await submit(api, "picky", {}))
    assert done.status is WorkflowStatus.FAILED
    assert [task.status for task in done.tasks] == [TaskStatus.FAILED_WITH_TERMINAL_ERROR]


async def test_a_task_running_three_times_its_lease_completes_without_being_handed_out_again(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def slow_async() -> str:
        await trio.sleep(3.0)
        return "done"

    def slow_sync() -> str:
        time.sleep(3.0)
        return "done"

    # Both kinds of handler, each in its own flavour, side by side to save time.
    async with (
        running(settings_for(server, "conductor"), agents(slow_async)),
        running(settings_for(server, "akabot"), agents(slow_sync)),
    ):
        ids = [
            await submit(api, name, {}, responseTimeoutSeconds=1)
            for name in ("slow_async", "slow_sync")
        ]
        done = [await finished(api, workflow_id, 15) for workflow_id in ids]
    for found in done:
        assert found.status is WorkflowStatus.COMPLETED
        assert found.output == {"result": "done"}
        [task] = found.tasks  # one attempt: the lease never ran out
        assert task.poll_count == 1
