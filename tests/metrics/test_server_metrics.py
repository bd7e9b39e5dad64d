"""``useragent server --metrics``: what the server did, as Prometheus reads it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from user_agent_sdk.server import RunningServer, ServerConfig, TaskSettings, serve

from ..runtime.support import agents, all_finished, running, settings_for, submit_many
from .test_worker_metrics import documented_metrics, exposed_metrics


@pytest.fixture
def server_config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(
        port=0,
        db=str(tmp_path / "queue.db"),
        metrics=True,
        task_defaults=TaskSettings(max_attempts=1, response_timeout_s=1),
    )


def values(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def value(text: str, name: str, **labels: str) -> float:
    found = [v for key, v in values(text, name).items() if labels.items() <= dict(key).items()]
    assert len(found) == 1, f"{len(found)} samples {name}{labels}"
    return found[0]


async def judged(input_data: dict[str, str]) -> dict[str, str]:
    if input_data["kind"] == "fail":
        raise ValueError("no")
    return {}


async def test_the_server_counts_tasks_requests_and_commits(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    ids = await submit_many(api, "judged", [{"kind": "ok"}] * 5 + [{"kind": "fail"}] * 2)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        before = (await http.get("/metrics")).text
        assert value(before, "useragent_server_queue_depth", taskType="judged") == 7
        async with running(settings_for(server), agents(judged, workers=2)):
            await all_finished(api, ids)
        text = (await http.get("/metrics")).text
    assert value(text, "useragent_server_tasks_leased_total", taskType="judged") == 7
    assert value(text, "useragent_server_tasks_completed_total", taskType="judged") == 5
    assert value(text, "useragent_server_tasks_failed_total", taskType="judged") == 2
    assert values(text, "useragent_server_queue_depth") == {}
    assert values(text, "useragent_server_tasks_in_progress") == {}
    assert value(text, "useragent_server_workflows_started_total", workflowType="judged") == 7
    started = value(
        text, "useragent_server_requests_total", method="POST", route="/api/workflow/{name}"
    )
    assert started == 7
    # Each request answered is in its route's latency histogram.
    for labels, count in values(text, "useragent_server_requests_total").items():
        key = dict(labels)
        timed = value(
            text,
            "useragent_server_request_duration_seconds_count",
            method=key["method"],
            route=key["route"],
        )
        assert timed >= count
    assert value(text, "useragent_server_commit_duration_seconds_count") >= 7
    assert value(text, "useragent_server_wal_bytes") > 0
    assert value(text, "useragent_server_database_bytes") > 0


async def test_a_lease_that_runs_out_counts_as_timed_out(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    [workflow_id] = await submit_many(api, "judged", [{"kind": "ok"}])
    polled = await api.get("/tasks/poll/judged", params={"workerid": "silent"})
    assert polled.status_code == 200  # leased, and never answered: 1 s later it times out
    await all_finished(api, [workflow_id], timeout=30)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    assert value(text, "useragent_server_tasks_timed_out_total", taskType="judged") == 1
    assert value(text, "useragent_server_tasks_leased_total", taskType="judged") == 1


async def test_unknown_routes_and_refusals_are_counted_with_their_status(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        assert (await http.get("/api/tasks/nope-nope")).status_code in (204, 404)
        assert (await http.post("/api/workflow/x", content=b"{oops")).status_code == 400
        text = (await http.get("/metrics")).text
    assert value(text, "useragent_server_requests_total", route="/api/workflow/{name}") == 1
    assert 'status="400"' in text


async def test_without_metrics_there_is_no_metrics_route(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        server: RunningServer = await nursery.start(serve, ServerConfig(port=0, db=":memory:"))
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 404
        nursery.cancel_scope.cancel()


async def test_every_server_metric_is_documented_and_every_documented_one_exists(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    assert exposed_metrics(text) == documented_metrics("useragent_server_")
