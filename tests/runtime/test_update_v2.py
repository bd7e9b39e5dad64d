"""update-v2: a result and the next task in one request, and the fall-back on servers without it.

The older server is real: an HTTP server on loopback (tests/runtime/forwarding.py) that
forwards every request to the embedded server except ``POST /api/tasks/update-v2`` and
our update-batch extension, which it answers as a Conductor release without those
endpoints does (405 or 404).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import httpx
import pytest

from user_agent_sdk.conductor import (
    CONDUCTOR,
    ConductorClient,
    RequestRejected,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    WorkflowStatus,
    encode_result,
)
from user_agent_sdk.server import RunningServer

from .forwarding import UPDATE_BATCH, UPDATE_V2, forwarding
from .support import agents, finished, running, settings_for, submit, submit_many, workflow


@asynccontextmanager
async def older_conductor(
    server: RunningServer, answer: int
) -> AsyncIterator[tuple[str, Counter[str]]]:
    """A server without update-v2 (nor update-batch) in front of ``server``: its API URL
    and the paths it saw."""
    async with forwarding(server, missing=(UPDATE_V2, UPDATE_BATCH), answer=answer) as forwarder:
        yield forwarder.api_url, forwarder.seen


def _completed(task_id: str, n: int) -> bytes:
    return encode_result(
        TaskResult(task_id, TaskResultStatus.COMPLETED, worker_id="w", output_data={"n": n})
    )


async def test_a_result_posted_with_update_v2_brings_the_next_task_leased(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    first_id, second_id = [await submit(api, "chain", {"n": n}) for n in range(2)]
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        (first,) = await client.poll("chain", count=1, worker_id="w", timeout_ms=100)
        second = await client.update_and_poll(_completed(first.task_id, 1))
        assert second is not None
        assert second.workflow_instance_id == second_id
        assert second.status is TaskStatus.IN_PROGRESS  # leased to this worker
        assert await client.update_and_poll(_completed(second.task_id, 2)) is None  # queue empty
    assert (await workflow(api, first_id)).output == {"n": 1}
    assert (await workflow(api, second_id)).output == {"n": 2}


@pytest.mark.parametrize("answer", [405, 404])
async def test_without_update_v2_results_go_by_plain_update_from_then_on(
    server: RunningServer, api: httpx.AsyncClient, answer: int
) -> None:
    ids = [await submit(api, "plain", {"n": n}) for n in range(3)]
    async with (
        older_conductor(server, answer) as (api_url, seen),
        ConductorClient(api_url, CONDUCTOR) as client,
    ):
        tasks = await client.poll("plain", count=3, worker_id="w", timeout_ms=100)
        for n, task in enumerate(tasks):
            assert await client.update_and_poll(_completed(task.task_id, n)) is None
        assert not client.updates_lease_next
    assert seen[UPDATE_V2] == 1  # tried once, then never again
    assert seen["/api/tasks"] == 3
    for workflow_id in ids:
        assert (await workflow(api, workflow_id)).status is WorkflowStatus.COMPLETED


async def test_a_result_for_an_unknown_task_is_still_refused_after_the_fall_back(
    server: RunningServer,
) -> None:
    async with (
        older_conductor(server, 404) as (api_url, _),
        ConductorClient(api_url, CONDUCTOR) as client,
    ):
        with pytest.raises(RequestRejected):
            await client.update_and_poll(_completed("no-such-task", 0))
        assert client.updates_lease_next  # the endpoint's absence was not proven


async def test_the_runtime_serves_an_older_server_by_polls_and_plain_updates(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def double(input_data: dict[str, int]) -> int:
        return input_data["n"] * 2

    async with older_conductor(server, 405) as (api_url, seen):
        settings = attrs.evolve(settings_for(server), api_url=api_url)
        async with running(settings, agents(double, workers=4)):
            ids = await submit_many(api, "double", [{"n": n} for n in range(20)])
            for n, workflow_id in enumerate(ids):
                assert (await finished(api, workflow_id)).output == {"result": 2 * n}
    # Slots finishing together may each try before the first refusal is back; none after.
    assert 1 <= seen[UPDATE_V2] <= 4
    assert seen["/api/tasks"] == 20  # one plain update per task, refused or not
