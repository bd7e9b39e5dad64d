"""A leasing request sent again with the same ``Idempotency-Key`` gets the same tasks, not more."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from user_agent_sdk.server import RunningServer

from .conductor_calls import start, update


async def _poll(
    api: httpx.AsyncClient, task_type: str, key: str | None, count: int = 2, timeout_ms: int = 0
) -> list[dict[str, Any]]:
    headers = {} if key is None else {"Idempotency-Key": key}
    response = await api.get(
        f"/tasks/poll/batch/{task_type}",
        params={"count": count, "timeout": timeout_ms, "workerid": "w"},
        headers=headers,
    )
    assert response.status_code in (200, 204), response.text
    return [] if response.status_code == 204 else list(response.json())


def _ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [task["taskId"] for task in tasks]


async def test_a_poll_sent_again_with_its_key_gets_the_same_tasks(api: httpx.AsyncClient) -> None:
    for n in range(5):
        await start(api, "replayed", {"n": n})
    first = await _poll(api, "replayed", "key-1")
    again = await _poll(api, "replayed", "key-1")
    assert len(first) == 2
    assert _ids(again) == _ids(first)
    assert [t["pollCount"] for t in again] == [1, 1]  # handed out again, not leased again
    # The rest of the queue is untouched: a new key leases the next tasks.
    assert [t["inputData"]["n"] for t in await _poll(api, "replayed", "key-2")] == [2, 3]


async def test_polls_without_a_key_lease_new_tasks_each_time(api: httpx.AsyncClient) -> None:
    for n in range(4):
        await start(api, "unkeyed", {"n": n})
    first = await _poll(api, "unkeyed", None)
    second = await _poll(api, "unkeyed", None)
    assert set(_ids(first)).isdisjoint(_ids(second))


async def test_a_replay_hands_out_only_tasks_still_leased_as_they_were(
    api: httpx.AsyncClient,
) -> None:
    for n in range(2):
        await start(api, "partly-done", {"n": n})
    first = await _poll(api, "partly-done", "key")
    await update(api, first[0], "COMPLETED", outputData={"done": True})
    again = await _poll(api, "partly-done", "key")
    assert _ids(again) == [first[1]["taskId"]]


async def test_a_replay_whose_tasks_all_moved_on_polls_afresh(api: httpx.AsyncClient) -> None:
    await start(api, "moved-on", {"n": 0})
    [first] = await _poll(api, "moved-on", "key")
    await update(api, first, "COMPLETED")
    await start(api, "moved-on", {"n": 1})
    [fresh] = await _poll(api, "moved-on", "key")
    assert fresh["inputData"] == {"n": 1}


async def test_an_empty_answer_is_not_remembered(api: httpx.AsyncClient) -> None:
    assert await _poll(api, "empty-first", "key") == []
    await start(api, "empty-first", {"n": 0})
    assert [t["inputData"] for t in await _poll(api, "empty-first", "key")] == [{"n": 0}]


async def test_a_retry_that_arrives_while_the_first_poll_waits_gets_the_same_tasks(
    api: httpx.AsyncClient,
) -> None:
    answers: list[list[dict[str, Any]]] = []

    async def long_poll() -> None:
        answers.append(await _poll(api, "waited", "same-key", count=3, timeout_ms=5000))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_poll)
        await trio.sleep(0.2)
        nursery.start_soon(long_poll)
        await trio.sleep(0.2)
        await start(api, "waited", {"n": 0})
    assert len(answers) == 2
    assert _ids(answers[0]) == _ids(answers[1])
    assert len(answers[0]) == 1
    assert await _poll(api, "waited", None) == []


async def test_a_long_poll_abandoned_by_its_client_leases_nothing_and_its_retry_runs_afresh(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    port = int(server.base_url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(
        b"GET /api/tasks/poll/batch/abandoned?count=1&timeout=5000&workerid=w HTTP/1.1\r\n"
        b"Host: x\r\nIdempotency-Key: lost\r\n\r\n"
    )
    await trio.sleep(0.2)
    await stream.aclose()  # the client gives up: the server cancels the poll
    await trio.sleep(0.2)
    await start(api, "abandoned", {"n": 0})
    [task] = await _poll(api, "abandoned", "lost")
    assert task["pollCount"] == 1


async def test_update_batch_sent_again_with_its_key_applies_nothing_new_and_leases_nothing_new(
    api: httpx.AsyncClient,
) -> None:
    for n in range(4):
        await start(api, "batched", {"n": n})
    [done] = await _poll(api, "batched", None, count=1)
    body = [
        {"taskId": done["taskId"], "status": "COMPLETED", "outputData": {"ok": 1}},
        {"taskId": "nope", "status": "COMPLETED"},
    ]
    headers = {"Idempotency-Key": "batch-key"}
    params: dict[str, str | int] = {"count": 2, "workerid": "w"}
    first = await api.post("/tasks/update-batch/batched", json=body, params=params, headers=headers)
    again = await api.post("/tasks/update-batch/batched", json=body, params=params, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["unknownTaskIds"] == ["nope"]
    assert len(first.json()["tasks"]) == 2
    assert [t["inputData"]["n"] for t in await _poll(api, "batched", None, count=4)] == [3]


async def test_update_v2_sent_again_with_its_key_gets_the_same_next_task(
    api: httpx.AsyncClient,
) -> None:
    for n in range(3):
        await start(api, "v2", {"n": n})
    [current] = await _poll(api, "v2", None, count=1)
    result = {"taskId": current["taskId"], "status": "COMPLETED", "workerId": "w"}
    headers = {"Idempotency-Key": "v2-key"}
    first = await api.post("/tasks/update-v2", json=result, headers=headers)
    again = await api.post("/tasks/update-v2", json=result, headers=headers)
    assert first.json()["taskId"] == again.json()["taskId"]
    assert [t["inputData"]["n"] for t in await _poll(api, "v2", None, count=3)] == [2]


async def test_an_oversized_key_is_refused_with_a_reason(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/tasks/poll/batch/x", params={"count": 1}, headers={"Idempotency-Key": "k" * 201}
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]
