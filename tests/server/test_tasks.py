"""Conductor task semantics of the embedded server, observed over HTTP."""

from __future__ import annotations

import httpx
import pytest
import trio

from user_agent_sdk.server import MEMORY, ServerConfig, TaskSettings

from .conductor_calls import poll, start, update, workflow


async def test_a_submitted_task_is_polled_completed_and_its_output_becomes_the_workflows(
    api: httpx.AsyncClient,
) -> None:
    workflow_id = await start(api, "sum", {"num1": 2, "num2": 3})
    [task] = await poll(api, "sum")
    assert task["inputData"] == {"num1": 2, "num2": 3}
    assert task["status"] == "IN_PROGRESS"
    assert task["workflowInstanceId"] == workflow_id
    assert task["workerId"] == "test-worker"
    assert task["responseTimeoutSeconds"] == 60
    response = await update(api, task, "COMPLETED", outputData={"result": 5})
    assert response.status_code == 200
    assert response.text == task["taskId"]
    done = await workflow(api, workflow_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"result": 5}
    assert done["input"] == {"num1": 2, "num2": 3}
    assert [t["status"] for t in done["tasks"]] == ["COMPLETED"]


async def test_the_status_summary_has_the_status_and_the_output_if_asked_never_the_input(
    api: httpx.AsyncClient,
) -> None:
    workflow_id = await start(api, "summed", {"blob": "x" * 1000}, correlationId="c-1")
    path = f"/workflow/{workflow_id}/status"
    running = (await api.get(path)).json()
    assert running == {"workflowId": workflow_id, "status": "RUNNING", "correlationId": "c-1"}
    [task] = await poll(api, "summed")
    await update(api, task, "COMPLETED", outputData={"result": 5})
    assert (await api.get(path)).json()["status"] == "COMPLETED"
    full = (
        await api.get(path, params={"includeOutput": "true", "includeVariables": "true"})
    ).json()
    assert full == {
        "workflowId": workflow_id,
        "status": "COMPLETED",
        "correlationId": "c-1",
        "output": {"result": 5},
        "variables": {},
    }
    assert (await api.get("/workflow/no-such-workflow/status")).status_code == 404
    refused = await api.get(path, params={"includeOutput": "yes"})
    assert refused.status_code == 400
    assert "includeOutput" in refused.json()["message"]


async def test_workflow_is_running_while_its_task_waits(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "later")
    assert (await workflow(api, workflow_id))["status"] == "RUNNING"


async def test_batch_poll_hands_out_at_most_count_tasks_oldest_first(
    api: httpx.AsyncClient,
) -> None:
    ids = [await start(api, "batch", {"n": n}) for n in range(5)]
    first = await poll(api, "batch", count=3)
    second = await poll(api, "batch", count=3)
    assert [t["inputData"]["n"] for t in first] == [0, 1, 2]
    assert [t["inputData"]["n"] for t in second] == [3, 4]
    assert [t["workflowInstanceId"] for t in first + second] == ids
    assert await poll(api, "batch", count=3) == []


async def test_a_task_is_handed_out_once(api: httpx.AsyncClient) -> None:
    for _ in range(20):
        await start(api, "once")
    seen: list[str] = []

    async def worker() -> None:
        while tasks := await poll(api, "once", count=3):
            seen.extend(t["taskId"] for t in tasks)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(worker)
    assert len(seen) == 20
    assert len(set(seen)) == 20


async def test_an_idle_long_poll_answers_204_after_its_timeout(api: httpx.AsyncClient) -> None:
    started = trio.current_time()
    assert await poll(api, "idle", timeout_ms=1000) == []
    assert 0.9 <= trio.current_time() - started < 3.0


async def test_a_long_poll_answers_as_soon_as_work_arrives(api: httpx.AsyncClient) -> None:
    answered_after: list[float] = []

    async def poller() -> None:
        tasks = await poll(api, "wake", count=4, timeout_ms=5000)
        answered_after.append(trio.current_time() - submitted_at)
        assert len(tasks) == 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poller)
        await trio.sleep(0.3)
        submitted_at = trio.current_time()
        await start(api, "wake")
    # The acceptance figure is 50 ms; this bound only guards against "waited for the timeout".
    assert answered_after[0] < 1.0


async def test_failed_is_retried_until_three_attempts_in_all(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "flaky")
    attempts = []
    for _ in range(3):
        [task] = await poll(api, "flaky")
        attempts.append(task)
        await update(api, task, "FAILED", reasonForIncompletion=f"boom {task['retryCount']}")
    assert [t["retryCount"] for t in attempts] == [0, 1, 2]
    assert len({t["taskId"] for t in attempts}) == 3
    assert await poll(api, "flaky") == []
    done = await workflow(api, workflow_id)
    assert done["status"] == "FAILED"
    assert done["reasonForIncompletion"] == "boom 2"
    assert [t["status"] for t in done["tasks"]] == ["FAILED"] * 3
    assert done["tasks"][1]["retriedTaskId"] == attempts[0]["taskId"]


async def test_a_retry_that_succeeds_completes_the_workflow(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "second-time")
    [first] = await poll(api, "second-time")
    await update(api, first, "FAILED", reasonForIncompletion="transient")
    [second] = await poll(api, "second-time")
    await update(api, second, "COMPLETED", outputData={"ok": True})
    done = await workflow(api, workflow_id)
    assert done["status"] == "COMPLETED"
    assert [t["status"] for t in done["tasks"]] == ["FAILED", "COMPLETED"]


async def test_terminal_error_is_never_retried(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "terminal")
    [task] = await poll(api, "terminal")
    await update(api, task, "FAILED_WITH_TERMINAL_ERROR", reasonForIncompletion="bad input")
    assert await poll(api, "terminal") == []
    done = await workflow(api, workflow_id)
    assert done["status"] == "FAILED"
    assert done["reasonForIncompletion"] == "bad input"
    assert len(done["tasks"]) == 1


async def test_max_attempts_is_settable_per_submission(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "one-shot", retryCount=0)
    [task] = await poll(api, "one-shot")
    await update(api, task, "FAILED")
    assert (await workflow(api, workflow_id))["status"] == "FAILED"


async def test_a_lease_that_runs_out_hands_the_task_out_again(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "slow", responseTimeoutSeconds=1)
    [first] = await poll(api, "slow")
    assert first["responseTimeoutSeconds"] == 1
    [second] = await poll(api, "slow", timeout_ms=3000)
    assert second["retryCount"] == 1
    assert second["taskId"] != first["taskId"]
    # The worker that lost its lease reports late: it must not complete the workflow.
    await update(api, first, "COMPLETED", outputData={"late": True})
    assert (await workflow(api, workflow_id))["status"] == "RUNNING"
    await update(api, second, "COMPLETED", outputData={"late": False})
    done = await workflow(api, workflow_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"late": False}
    assert [t["status"] for t in done["tasks"]] == ["TIMED_OUT", "COMPLETED"]


async def test_a_lease_that_runs_out_on_the_last_attempt_times_the_workflow_out(
    api: httpx.AsyncClient,
) -> None:
    workflow_id = await start(api, "abandoned", responseTimeoutSeconds=1, retryCount=0)
    await poll(api, "abandoned")
    with trio.fail_after(5):
        while (await workflow(api, workflow_id))["status"] == "RUNNING":
            await trio.sleep(0.1)
    assert (await workflow(api, workflow_id))["status"] == "TIMED_OUT"


async def test_in_progress_with_extend_lease_keeps_the_task(api: httpx.AsyncClient) -> None:
    workflow_id = await start(api, "long", responseTimeoutSeconds=1)
    [task] = await poll(api, "long")
    for _ in range(6):  # 2.4 s: well past the 1 s lease
        await trio.sleep(0.4)
        response = await update(api, task, "IN_PROGRESS", extendLease=True)
        assert response.status_code == 200
        assert await poll(api, "long") == []
    await update(api, task, "COMPLETED", outputData={"done": 1})
    done = await workflow(api, workflow_id)
    assert done["status"] == "COMPLETED"
    assert len(done["tasks"]) == 1


async def test_callback_after_seconds_hands_the_same_task_back_later(
    api: httpx.AsyncClient,
) -> None:
    await start(api, "callback")
    [task] = await poll(api, "callback")
    await update(api, task, "IN_PROGRESS", callbackAfterSeconds=1, outputData={"step": 1})
    assert await poll(api, "callback") == []
    started = trio.current_time()
    [again] = await poll(api, "callback", timeout_ms=3000)
    assert 0.5 < trio.current_time() - started < 2.5
    assert again["taskId"] == task["taskId"]
    assert again["pollCount"] == 2
    assert again["outputData"] == {"step": 1}


async def test_update_v2_answers_with_the_next_task(api: httpx.AsyncClient) -> None:
    await start(api, "chain", {"n": 1})
    await start(api, "chain", {"n": 2})
    [first] = await poll(api, "chain")
    response = await api.post(
        "/tasks/update-v2",
        json={
            "taskId": first["taskId"],
            "workflowInstanceId": first["workflowInstanceId"],
            "workerId": "w",
            "status": "COMPLETED",
        },
    )
    assert response.status_code == 200
    assert response.json()["inputData"] == {"n": 2}
    nothing_left = await api.post(
        "/tasks/update-v2",
        json={"taskId": response.json()["taskId"], "workerId": "w", "status": "COMPLETED"},
    )
    assert nothing_left.status_code == 204


async def test_akabot_paths_poll_one_and_update(api: httpx.AsyncClient) -> None:
    agent_id = "00000000-0000-0000-0000-000000000000#user-agent"
    workflow_id = await start(api, agent_id, {"__task_id__": "p1", "num1": 1})
    response = await api.get(
        "/tasks/external/poll/00000000-0000-0000-0000-000000000000%23user-agent"
    )
    assert response.status_code == 200
    task = response.json()
    assert task["taskType"] == agent_id
    result = {"taskId": task["taskId"], "status": "COMPLETED", "outputData": {"result": 1}}
    assert (await api.post("/tasks/external", json=result)).status_code == 200
    assert (await workflow(api, workflow_id))["output"] == {"result": 1}
    assert (
        await api.get(f"/tasks/external/poll/{agent_id.replace('#', '%23')}")
    ).status_code == 204


async def test_single_poll_answers_204_when_empty(api: httpx.AsyncClient) -> None:
    assert (await api.get("/tasks/poll/nothing-here")).status_code == 204


async def test_logs_sent_with_a_result_and_alone_are_kept_in_order(api: httpx.AsyncClient) -> None:
    await start(api, "logged")
    [task] = await poll(api, "logged")
    assert (await api.post(f"/tasks/{task['taskId']}/log", json="first")).status_code == 200
    await update(
        api, task, "COMPLETED", logs=[{"log": "second", "createdTime": 5}, {"log": "third"}]
    )
    logs = (await api.get(f"/tasks/{task['taskId']}/log")).json()
    assert [line["log"] for line in logs] == ["first", "second", "third"]
    assert logs[1]["createdTime"] == 5
    assert all(line["taskId"] == task["taskId"] for line in logs)


async def test_queue_size_counts_waiting_tasks(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        await start(api, "counted")
    await poll(api, "counted")
    response = await api.get("/tasks/queue/size", params={"taskType": "counted"})
    assert response.json() == 2


async def test_get_task_and_unknown_ids(api: httpx.AsyncClient) -> None:
    await start(api, "lookup")
    [task] = await poll(api, "lookup")
    found = await api.get(f"/tasks/{task['taskId']}")
    assert found.json()["status"] == "IN_PROGRESS"
    assert (await api.get("/tasks/no-such-task")).status_code == 204
    assert (await api.get("/workflow/no-such-workflow")).status_code == 404
    missing = await api.post("/tasks", json={"taskId": "no-such-task", "status": "COMPLETED"})
    assert missing.status_code == 404
    assert "no-such-task" in missing.json()["message"]
    assert (await api.get("/tasks/no-such-task/log")).json() == []


async def test_domains_separate_queues(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/workflow",
        json={"name": "render", "input": {"gpu": True}, "taskToDomain": {"render": "gpu"}},
    )
    assert response.status_code == 200
    assert await poll(api, "render") == []
    [task] = await poll(api, "render", domain="gpu")
    assert task["domain"] == "gpu"


async def test_start_workflow_request_with_an_inline_one_task_definition(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/workflow",
        json={
            "name": "greeting",
            "input": {"name": "Ada"},
            "workflowDef": {
                "name": "greeting",
                "tasks": [
                    {
                        "name": "greet",
                        "taskReferenceName": "greet_ref",
                        "type": "SIMPLE",
                        "taskDefinition": {"responseTimeoutSeconds": 7, "retryCount": 0},
                    }
                ],
            },
        },
    )
    [task] = await poll(api, "greet")
    assert task["responseTimeoutSeconds"] == 7
    assert task["workflowType"] == "greeting"
    await update(api, task, "FAILED")
    assert (await workflow(api, response.text))["status"] == "FAILED"


async def test_registered_task_definition_sets_lease_and_retries(api: httpx.AsyncClient) -> None:
    definition = {
        "name": "defined",
        "retryCount": 1,
        "responseTimeoutSeconds": 9,
        "retryDelaySeconds": 0,
    }
    assert (await api.post("/metadata/taskdefs", json=[definition])).status_code == 200
    assert (await api.get("/metadata/taskdefs/defined")).json()["responseTimeoutSeconds"] == 9
    workflow_id = await start(api, "defined")
    [first] = await poll(api, "defined")
    assert first["responseTimeoutSeconds"] == 9
    await update(api, first, "FAILED")
    [second] = await poll(api, "defined")
    await update(api, second, "FAILED")
    assert (await workflow(api, workflow_id))["status"] == "FAILED"
    assert (await api.get("/metadata/taskdefs/undefined")).status_code == 404


async def test_a_registered_one_task_workflow_runs_its_task_type(api: httpx.AsyncClient) -> None:
    definition = {
        "name": "onboarding",
        "version": 1,
        "tasks": [{"name": "send-welcome", "taskReferenceName": "welcome", "type": "SIMPLE"}],
    }
    assert (await api.post("/metadata/workflow", json=definition)).status_code == 200
    assert (await api.get("/metadata/workflow/onboarding")).json()["name"] == "onboarding"
    workflow_id = await start(api, "onboarding", {"user": "ada"})
    [task] = await poll(api, "send-welcome")
    assert task["workflowType"] == "onboarding"
    await update(api, task, "COMPLETED", outputData={"sent": True})
    assert (await workflow(api, workflow_id))["output"] == {"sent": True}


async def test_a_workflow_definition_of_several_tasks_is_refused(api: httpx.AsyncClient) -> None:
    two = {"name": "pipeline", "tasks": [{"name": "a"}, {"name": "b"}]}
    response = await api.post("/metadata/workflow", json=two)
    assert response.status_code == 400
    assert "exactly one task" in response.json()["message"]
    assert (await api.get("/metadata/workflow/pipeline")).status_code == 404


class TestServerDefaults:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(
            port=0,
            db=MEMORY,
            task_defaults=TaskSettings(response_timeout_s=5, max_attempts=1, retry_delay_s=0),
        )

    async def test_server_wide_defaults_apply_to_submissions(self, api: httpx.AsyncClient) -> None:
        workflow_id = await start(api, "defaults")
        [task] = await poll(api, "defaults")
        assert task["responseTimeoutSeconds"] == 5
        await update(api, task, "FAILED")
        assert (await workflow(api, workflow_id))["status"] == "FAILED"

    async def test_a_per_submission_setting_keeps_the_other_server_defaults(
        self, api: httpx.AsyncClient
    ) -> None:
        await start(api, "partly", retryCount=2)
        [task] = await poll(api, "partly")
        assert task["responseTimeoutSeconds"] == 5
