"""Small helpers that speak the Conductor task API over HTTP, for the server tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


async def start(
    api: httpx.AsyncClient, name: str, data: dict[str, Any] | None = None, **params: Any
) -> str:
    """POST /workflow/{name}; returns the workflow id."""
    response = await api.post(f"/workflow/{quote(name, safe='')}", json=data or {}, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def poll(
    api: httpx.AsyncClient,
    task_type: str,
    count: int = 1,
    timeout_ms: int = 0,
    **params: Any,
) -> list[dict[str, Any]]:
    """A batch poll; [] on 204."""
    response = await api.get(
        f"/tasks/poll/batch/{quote(task_type, safe='')}",
        params={"count": count, "timeout": timeout_ms, "workerid": "test-worker", **params},
    )
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


async def update(
    api: httpx.AsyncClient, task: dict[str, Any], status: str, **fields: Any
) -> httpx.Response:
    """POST /tasks with a TaskResult for ``task``."""
    body = {
        "taskId": task["taskId"],
        "workflowInstanceId": task["workflowInstanceId"],
        "workerId": "test-worker",
        "status": status,
        **fields,
    }
    return await api.post("/tasks", json=body)


async def workflow(api: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    response = await api.get(f"/workflow/{workflow_id}", params={"includeTasks": "true"})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
