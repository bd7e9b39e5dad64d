"""A completion and a lease expiry that race: whichever commits first wins, the other does nothing.

Thousands of completions are posted across the instant their leases run out, through
every way a result reaches the server (``POST /tasks``, ``update-v2``, ``update-batch``).
Every task must end either COMPLETED with the output that was posted, its workflow
COMPLETED with it, or TIMED_OUT with none of the worker's output, its workflow TIMED_OUT.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig, TaskSettings
from user_agent_sdk.transport._pool import Pool

pytestmark = pytest.mark.slow

ROUNDS = 10 if os.environ.get("USERAGENT_LONG_TESTS") else 4
"""Every round races 2,000 completions against their expiries and has seen both outcomes
so far; the long form (``USERAGENT_LONG_TESTS=1``) runs more of them."""
TASKS_PER_ROUND = 2000
TASK_TYPE = "race"


@pytest.fixture
def server_config() -> ServerConfig:
    return ServerConfig(
        port=0,
        db=MEMORY,
        task_defaults=TaskSettings(response_timeout_s=1, max_attempts=1),
    )


class Api:
    """JSON over the runtime's own keep-alive pool: httpx would make this test CPU-bound."""

    def __init__(self, pool: Pool, base: str) -> None:
        self._pool = pool
        self._base = base

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200,)
    ) -> Any:
        data = b"" if body is None else json.dumps(body).encode()
        headers = [("Content-Type", "application/json")] if body is not None else []
        reply = await self._pool.send(method, self._base + path, headers, data, 30)
        assert reply.status in ok, (method, path, reply.status, reply.body[:300])
        if not reply.body:
            return None
        try:
            return json.loads(reply.body)
        except ValueError:
            return reply.body.decode()


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[Api]:
    pool = Pool(server.base_url, max_connections=48)
    try:
        yield Api(pool, "/api")
    finally:
        await pool.aclose()


async def _submit(api: Api, count: int) -> None:
    numbers = iter(range(count))

    async def submitter() -> None:
        for n in numbers:
            await api.call("POST", f"/workflow/{TASK_TYPE}", {"n": n})

    async with trio.open_nursery() as nursery:
        for _ in range(16):
            nursery.start_soon(submitter)


async def _lease_all(api: Api, count: int) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    while len(tasks) < count:
        want = min(1000, count - len(tasks))
        query = f"count={want}&timeout=0&workerid=racer"
        tasks.extend(await api.call("GET", f"/tasks/poll/batch/{TASK_TYPE}?{query}"))
    return tasks


def _result(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "taskId": task["taskId"],
        "workflowInstanceId": task["workflowInstanceId"],
        "workerId": "racer",
        "status": "COMPLETED",
        "outputData": {"square": task["inputData"]["n"] ** 2, "by": "racer"},
    }


async def _post_completions(api: Api, tasks: list[dict[str, Any]]) -> None:
    """Post every task's completion, a third by each route, spread over a few hundred ms."""
    by_route = [tasks[0::3], tasks[1::3], tasks[2::3]]

    async def plain(chunk: list[dict[str, Any]]) -> None:
        for task in chunk:
            await api.call("POST", "/tasks", _result(task))

    async def update_v2(chunk: list[dict[str, Any]]) -> None:
        for task in chunk:
            await api.call("POST", "/tasks/update-v2", _result(task), ok=(200, 204))

    async def update_batch(chunk: list[dict[str, Any]]) -> None:
        for start in range(0, len(chunk), 20):
            batch = [_result(task) for task in chunk[start : start + 20]]
            await api.call("POST", f"/tasks/update-batch/{TASK_TYPE}?count=0", batch)

    async with trio.open_nursery() as nursery:
        for route, chunk in zip((plain, update_v2, update_batch), by_route, strict=True):
            for lane in range(8):
                nursery.start_soon(route, chunk[lane::8])


async def _final_states(
    api: Api, tasks: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each task's workflow as the server ends it, with the task's own final state."""
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    pending = iter(tasks)

    async def reader() -> None:
        for task in pending:
            flow = await api.call("GET", f"/workflow/{task['workflowInstanceId']}")
            [final] = flow["tasks"]
            found.append((flow, final))

    async with trio.open_nursery() as nursery:
        for _ in range(16):
            nursery.start_soon(reader)
    return found


async def _one_round(api: Api) -> tuple[int, int, int]:
    """Completed, timed out, and overwritten (accepted and then undone) tasks of one round."""
    await _submit(api, TASKS_PER_ROUND)
    tasks = await _lease_all(api, TASKS_PER_ROUND)
    leased_at = trio.current_time()
    # Leases last 1 s from the poll; start posting a little before, so that the posts
    # (which take a few hundred ms in all) straddle the instant they run out.
    await trio.sleep_until(leased_at + 0.85)
    await _post_completions(api, tasks)
    await trio.sleep(1.2)  # every lease has run out and been handled by now
    completed = timed_out = overwritten = 0
    for flow, final in await _final_states(api, tasks):
        expected = {"square": flow["input"]["n"] ** 2, "by": "racer"}
        if final["status"] == "COMPLETED":
            completed += 1
            assert final["outputData"] == expected, final
            assert (flow["status"], flow["output"]) == ("COMPLETED", expected), flow
        else:
            timed_out += 1
            assert final["status"] == "TIMED_OUT", final
            if final["outputData"] or flow["status"] != "TIMED_OUT" or flow["output"]:
                overwritten += 1
    return completed, timed_out, overwritten


async def test_completions_racing_lease_expiry_are_never_overwritten(
    api: Api,
) -> None:
    totals = [0, 0, 0]
    for _ in range(ROUNDS):
        for index, count in enumerate(await _one_round(api)):
            totals[index] += count
    completed, timed_out, overwritten = totals
    figures = (
        f"{ROUNDS} rounds of {TASKS_PER_ROUND}: {completed} completed, {timed_out} timed out, "
        f"{overwritten} accepted completions overwritten by the expiry"
    )
    print(figures)
    assert completed + timed_out == ROUNDS * TASKS_PER_ROUND, figures
    assert overwritten == 0, figures
    # The race was really run: both outcomes happened.
    assert completed > 0, figures
    assert timed_out > 0, figures
