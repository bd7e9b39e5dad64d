"""ConductorClient starts workflows and reads them back, against the embedded server."""

from __future__ import annotations

import httpx
import pytest

from user_agent_sdk.conductor import CONDUCTOR, ConductorClient, RequestRejected
from user_agent_sdk.models import WorkflowStatus
from user_agent_sdk.server import RunningServer


async def test_a_started_workflow_is_found_running_then_completed_with_its_output(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        workflow_id = await client.start_workflow("echo", b'{"n": 7}')
        assert await client.workflow_status(workflow_id) is WorkflowStatus.RUNNING
        [task] = (await api.get("/tasks/poll/batch/echo", params={"count": 1})).json()
        assert task["workflowInstanceId"] == workflow_id
        assert task["inputData"] == {"n": 7}
        completed = {"taskId": task["taskId"], "status": "COMPLETED", "outputData": {"m": 8}}
        (await api.post("/tasks", json=completed)).raise_for_status()
        assert await client.workflow_status(workflow_id) is WorkflowStatus.COMPLETED
        workflow = await client.workflow(workflow_id, include_tasks=False)
    assert workflow.workflow_id == workflow_id
    assert workflow.output == {"m": 8}
    assert workflow.tasks == []


async def test_task_settings_reach_the_workflows_task(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        await client.start_workflow(
            "tuned", b"{}", task_settings={"responseTimeoutSeconds": 7, "retryCount": 0}
        )
    task = (await api.get("/tasks/poll/tuned")).json()
    assert task["responseTimeoutSeconds"] == 7


async def test_an_unknown_workflow_is_a_request_rejected_naming_it(server: RunningServer) -> None:
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        with pytest.raises(RequestRejected, match="no-such-id") as caught:
            await client.workflow_status("no-such-id")
    assert caught.value.status == 404


async def test_a_server_without_status_summaries_is_asked_for_the_whole_workflow() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("/status"):
            return httpx.Response(404, json={"message": "no such path"})
        return httpx.Response(200, json={"workflowId": "w1", "status": "PAUSED"})

    transport = httpx.MockTransport(answer)
    async with ConductorClient("http://conductor/api", CONDUCTOR, transport=transport) as client:
        assert await client.workflow_status("w1") is WorkflowStatus.PAUSED
        assert await client.workflow_status("w1") is WorkflowStatus.PAUSED
    assert asked == ["/api/workflow/w1/status", "/api/workflow/w1", "/api/workflow/w1"]
