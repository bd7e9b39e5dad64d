"""Bad input gets a clear answer, one log line, and the server keeps serving."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig

from .conductor_calls import poll, start


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "user_agent_sdk.server" and record.levelno >= logging.WARNING
    ]


async def test_malformed_json_is_a_400_that_says_why(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await api.post(
        "/tasks", content=b'{"taskId": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("malformed JSON in the request body")
    assert len(_problems(caplog)) == 1
    assert (await api.get("/tasks/queue/size", params={"taskType": "x"})).json() == 0


async def test_a_wrong_field_is_named_in_camel_case(api: httpx.AsyncClient) -> None:
    response = await api.post("/tasks", json={"taskId": "t", "status": "DONE"})
    assert response.status_code == 400
    assert "$.status" in response.json()["message"]
    response = await api.post("/tasks", json={"status": "COMPLETED"})
    assert "$.taskId" in response.json()["message"]


async def test_workflow_input_must_be_an_object(api: httpx.AsyncClient) -> None:
    response = await api.post("/workflow/x", json=[1, 2])
    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]


async def test_bad_query_parameters_are_named(api: httpx.AsyncClient) -> None:
    response = await api.get("/tasks/poll/batch/x", params={"count": "many"})
    assert response.status_code == 400
    assert "count" in response.json()["message"]
    response = await api.get("/tasks/poll/batch/x", params={"count": 0})
    assert response.status_code == 400


async def test_unknown_paths_and_methods(api: httpx.AsyncClient) -> None:
    missing = await api.get("/no/such/thing")
    assert missing.status_code == 404
    assert "/api/no/such/thing" in missing.json()["message"]
    wrong_method = await api.delete("/tasks/poll/batch/x")
    assert wrong_method.status_code == 405


async def test_a_chunked_body_is_read(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a":'
        yield b" 1}"

    response = await api.post("/workflow/chunked", content=chunks())
    assert response.status_code == 200
    [task] = await poll(api, "chunked")
    assert task["inputData"] == {"a": 1}


async def test_garbage_on_the_socket_gets_a_400_and_the_server_keeps_serving(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    port = int(server.base_url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"THIS IS NOT HTTP\r\n\r\n")
        with trio.fail_after(5):
            answer = await stream.receive_some(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Traceback" not in answer
    assert (await api.get("/tasks/poll/x")).status_code == 204


async def test_a_client_that_hangs_up_mid_long_poll_does_not_lose_a_task(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    async with httpx.AsyncClient(base_url=server.api_url) as impatient:
        with trio.move_on_after(0.2):
            await impatient.get("/tasks/poll/batch/kept", params={"timeout": 5000})
    await start(api, "kept")
    assert len(await poll(api, "kept")) == 1


class TestBodyLimit:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(port=0, db=MEMORY, max_body_bytes=1024)

    async def test_a_body_over_the_limit_is_refused_with_413(
        self, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        response = await api.post("/workflow/big", json={"blob": "x" * 2000})
        assert response.status_code == 413
        assert "1024" in response.json()["message"]
        assert len(_problems(caplog)) == 1
        assert (await api.post("/workflow/small", json={"blob": "x"})).status_code == 200
