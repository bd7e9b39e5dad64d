"""update-batch, our extension: many results and the next tasks of a queue in one request."""

from __future__ import annotations

from typing import Any

import httpx

from .conductor_calls import poll, start, workflow


def _result(task: dict[str, Any], status: str = "COMPLETED", **fields: Any) -> dict[str, Any]:
    return {
        "taskId": task["taskId"],
        "workflowInstanceId": task["workflowInstanceId"],
        "workerId": "w",
        "status": status,
        **fields,
    }


async def _batch(
    api: httpx.AsyncClient, task_type: str, results: list[dict[str, Any]], count: int
) -> httpx.Response:
    return await api.post(
        f"/tasks/update-batch/{task_type}",
        json=results,
        params={"workerid": "w", "count": count},
    )


async def test_results_are_applied_and_the_next_tasks_are_leased_in_queue_order(
    api: httpx.AsyncClient,
) -> None:
    ids = [await start(api, "batched", {"n": n}) for n in range(6)]
    first = await poll(api, "batched", count=3)
    results = [_result(task, outputData={"n": task["inputData"]["n"] * 10}) for task in first]
    response = await _batch(api, "batched", results, count=2)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["unknownTaskIds"] == []
    assert [task["inputData"]["n"] for task in answer["tasks"]] == [3, 4]
    assert all(task["status"] == "IN_PROGRESS" for task in answer["tasks"])
    assert all(task["workerId"] == "w" for task in answer["tasks"])
    for n, workflow_id in enumerate(ids[:3]):
        done = await workflow(api, workflow_id)
        assert (done["status"], done["output"]) == ("COMPLETED", {"n": n * 10})
    assert [task["inputData"]["n"] for task in await poll(api, "batched", count=5)] == [5]


async def test_count_zero_only_posts_and_an_empty_queue_leases_nothing(
    api: httpx.AsyncClient,
) -> None:
    await start(api, "quiet")
    await start(api, "quiet")
    [task] = await poll(api, "quiet")
    answer = (await _batch(api, "quiet", [_result(task)], count=0)).json()
    assert answer == {"tasks": [], "unknownTaskIds": []}
    [second] = await poll(api, "quiet")
    answer = (await _batch(api, "quiet", [_result(second)], count=5)).json()
    assert answer == {"tasks": [], "unknownTaskIds": []}


async def test_each_result_keeps_its_meaning_and_unknown_ids_are_named(
    api: httpx.AsyncClient,
) -> None:
    ok, failing, terminal = [await start(api, "mixed", {"n": n}) for n in range(3)]
    tasks = await poll(api, "mixed", count=3)
    results = [
        _result(tasks[0]),
        _result(tasks[1], "FAILED", reasonForIncompletion="try again"),
        _result(tasks[2], "FAILED_WITH_TERMINAL_ERROR", reasonForIncompletion="never"),
        {"taskId": "no-such-task", "status": "COMPLETED"},
    ]
    response = await _batch(api, "mixed", results, count=5)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["unknownTaskIds"] == ["no-such-task"]
    [retry] = answer["tasks"]  # the failed attempt's retry, leased at once
    assert (retry["workflowInstanceId"], retry["retryCount"]) == (failing, 1)
    assert (await workflow(api, ok))["status"] == "COMPLETED"
    assert (await workflow(api, failing))["status"] == "RUNNING"
    assert (await workflow(api, terminal))["status"] == "FAILED"


async def test_a_result_for_an_ended_attempt_changes_nothing(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "twice")
    [task] = await poll(api, "twice")
    assert (await _batch(api, "twice", [_result(task, outputData={"v": 1})], 0)).status_code == 200
    again = await _batch(api, "twice", [_result(task, "FAILED", outputData={"v": 2})], 0)
    assert again.status_code == 200
    done = await workflow(api, workflow_id)
    assert (done["status"], done["output"]) == ("COMPLETED", {"v": 1})


async def test_bad_batches_are_refused_whole_naming_the_problem(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "refused")
    [task] = await poll(api, "refused")
    twice = await _batch(api, "refused", [_result(task), _result(task)], 0)
    assert twice.status_code == 400
    assert task["taskId"] in twice.json()["message"]
    not_a_list = await api.post("/tasks/update-batch/refused", json=_result(task))
    assert not_a_list.status_code == 400
    bad_status = await _batch(api, "refused", [_result(task, "DONE")], 0)
    assert bad_status.status_code == 400
    assert "status" in bad_status.json()["message"]
    bad_count = await _batch(api, "refused", [], -1)
    assert bad_count.status_code == 400
    assert "count" in bad_count.json()["message"]
    assert (await workflow(api, workflow_id))["status"] == "RUNNING"  # nothing applied
