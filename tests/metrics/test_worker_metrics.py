"""``/metrics``, ``/healthz`` and ``/readyz`` of a worker, scraped as Prometheus would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from user_agent_sdk import NonRetryableException
from user_agent_sdk.runtime import Runtime
from user_agent_sdk.server import RunningServer, ServerConfig, serve

from ..docs.pages import DOCS
from ..runtime.support import agents, all_finished, running, settings_for, submit_many


def samples(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        yield from family.samples


def value(text: str, name: str, **labels: str) -> float:
    """The one sample ``name`` whose labels include ``labels``."""
    found = [
        s.value for s in samples(text) if s.name == name and labels.items() <= s.labels.items()
    ]
    assert len(found) == 1, f"{len(found)} samples {name}{labels}"
    return found[0]


async def scrape(runtime: Runtime, path: str = "/metrics") -> httpx.Response:
    assert runtime.metrics_port is not None
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(f"http://127.0.0.1:{runtime.metrics_port}{path}")


async def mixed(input_data: dict[str, str]) -> dict[str, int]:
    kind = input_data["kind"]
    if kind == "fail":
        raise ValueError("asked to fail")
    if kind == "terminal":
        raise NonRetryableException("asked to fail for good")
    return {"ok": 1}


async def test_the_counters_and_histograms_count_every_task(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    kinds = ["ok"] * 10 + ["fail"] * 3 + ["terminal"]
    settings = settings_for(server, metrics_port=0)
    async with running(settings, agents(mixed, workers=4)) as runtime:
        ids = await submit_many(api, "mixed", [{"kind": kind} for kind in kinds], retryCount=0)
        await all_finished(api, ids)
        with trio.fail_after(10):  # the answers to the last posts may still be on their way
            while (text := (await scrape(runtime)).text) and value(
                text, "useragent_results_sent_total", taskType="mixed"
            ) < len(kinds):
                await trio.sleep(0.05)

    def of(name: str, **labels: str) -> float:
        return value(text, name, taskType="mixed", **labels)

    assert of("useragent_tasks_finished_total", status="COMPLETED") == 10
    assert of("useragent_tasks_finished_total", status="FAILED") == 3
    assert of("useragent_tasks_finished_total", status="FAILED_WITH_TERMINAL_ERROR") == 1
    assert of("useragent_tasks_finished_total", status="HANDED_BACK") == 0
    assert of("task_execution_started_total") == 14
    assert of("useragent_tasks_leased_total") == 14
    assert of("useragent_results_sent_total") == 14
    assert of("task_execute_error_total", exception="ValueError") == 3
    assert of("task_execute_error_total", exception="NonRetryableException") == 1
    # Every task in the handler-time histogram, by outcome, and in the size histogram.
    assert of("task_execute_time_seconds_count", status="SUCCESS") == 10
    assert of("task_execute_time_seconds_count", status="FAILURE") == 4
    assert of("task_execute_time_seconds_bucket", status="SUCCESS", le="+Inf") == 10
    assert of("task_execute_time_seconds_bucket", status="FAILURE", le="+Inf") == 4
    assert of("task_result_size_bytes_count") == 14
    assert of("task_result_size_bytes_bucket", le="+Inf") == 14
    assert 14 * 10 < of("task_result_size_bytes_sum") < 14 * 10_000
    # Polls: each counted, each in the latency histogram; none failed.
    polls = of("task_poll_total")
    assert polls >= 1
    assert of("task_poll_time_seconds_count", status="SUCCESS") == polls
    assert not [
        s for s in samples(text) if s.labels.get("status") == "FAILURE" and "poll" in s.name
    ]
    assert of("task_update_time_seconds_count", status="SUCCESS") >= 1
    assert of("active_workers") == 0
    assert of("useragent_tasks_buffered") == 0
    assert of("useragent_worker_slots") == 4
    assert of("useragent_agent_ready") == 1
    # The process's own metrics come along.
    assert value(text, "process_cpu_seconds_total") > 0


async def test_buckets_are_cumulative_and_the_latency_buckets_match_conductor_pythons(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async with running(settings_for(server, metrics_port=0), agents(mixed)) as runtime:
        await all_finished(api, await submit_many(api, "mixed", [{"kind": "ok"}] * 3))
        text = (await scrape(runtime)).text
    buckets = [
        (s.labels["le"], s.value)
        for s in samples(text)
        if s.name == "task_execute_time_seconds_bucket" and s.labels["status"] == "SUCCESS"
    ]
    assert [le for le, _ in buckets] == [
        *(
            [
                "0.001",
                "0.005",
                "0.01",
                "0.025",
                "0.05",
                "0.1",
                "0.25",
                "0.5",
                "1.0",
                "2.5",
                "5.0",
                "10.0",
            ]
        ),
        "+Inf",
    ]
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)
    assert counts[-1] == 3


async def test_openmetrics_when_the_scraper_asks_for_it(server: RunningServer) -> None:
    async with running(settings_for(server, metrics_port=0), agents(mixed)) as runtime:
        assert runtime.metrics_port is not None
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(
                f"http://127.0.0.1:{runtime.metrics_port}/metrics",
                headers={"Accept": "application/openmetrics-text; version=1.0.0"},
            )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_healthz_readyz_and_unknown_paths(server: RunningServer) -> None:
    async with running(settings_for(server, metrics_port=0), agents(mixed)) as runtime:
        health = await scrape(runtime, "/healthz")
        with trio.fail_after(10):
            while (ready := await scrape(runtime, "/readyz")).status_code != 200:
                await trio.sleep(0.05)
        missing = await scrape(runtime, "/nope")
    assert health.status_code == 200
    assert ready.json() == {"ready": True}
    assert missing.status_code == 404
    assert "/metrics" in missing.json()["message"]


async def test_readyz_is_503_while_the_server_is_down_and_200_once_it_is_back(
    tmp_path: Path,
) -> None:
    config = ServerConfig(port=0, db=str(tmp_path / "queue.db"))
    async with trio.open_nursery() as outer:
        first = trio.CancelScope()

        async def serve_first(task_status: trio.TaskStatus[RunningServer]) -> None:
            with first:
                await serve(config, task_status=task_status)

        server: RunningServer = await outer.start(serve_first)
        port = int(server.base_url.rsplit(":", 1)[1])
        async with running(settings_for(server, metrics_port=0), agents(mixed)) as runtime:
            with trio.fail_after(10):
                while (await scrape(runtime, "/readyz")).status_code != 200:
                    await trio.sleep(0.05)
            first.cancel()  # the server goes away
            with trio.fail_after(15):
                while (down := await scrape(runtime, "/readyz")).status_code != 503:
                    await trio.sleep(0.05)
            assert down.json()["ready"] is False
            reason = down.json()["not_ready"]["mixed"]
            assert reason.startswith("cannot poll:")
            assert "refused" in reason
            assert "127.0.0.1" in reason

            await outer.start(serve, ServerConfig(port=port, db=config.db))  # back
            with trio.fail_after(30):
                while (up := await scrape(runtime, "/readyz")).status_code != 200:
                    await trio.sleep(0.1)
            assert up.json() == {"ready": True}
        outer.cancel_scope.cancel()


@pytest.mark.parametrize("flavour", ["conductor", "akabot"])
async def test_token_fetches_are_counted(server: RunningServer, flavour: str) -> None:
    async with running(settings_for(server, flavour, metrics_port=0), agents(mixed)) as runtime:
        text = (await scrape(runtime)).text
    expected = 1 if flavour == "akabot" else 0
    assert value(text, "useragent_token_fetches_total") == expected
    assert value(text, "useragent_token_fetch_error_total") == 0


def documented_metrics(prefix: str = "") -> set[str]:
    """The metric names in the tables of docs/guides/operations.md (first column), of
    those starting with ``prefix``."""
    section = (DOCS / "guides/operations.md").read_text(encoding="utf-8")
    names: set[str] = set()
    for match in re.finditer(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|", section, re.MULTILINE):
        names.update(name for name in match.groups() if name)
    return {name for name in names if name.startswith(prefix)}


def exposed_metrics(text: str) -> set[str]:
    return {
        family.name + ("_total" if family.type == "counter" else "")
        for family in text_string_to_metric_families(text)
        if not family.name.startswith(("process_", "python_"))
    }


async def test_every_worker_metric_is_documented_and_every_documented_one_exists(
    server: RunningServer,
) -> None:
    async with running(settings_for(server, metrics_port=0), agents(mixed)) as runtime:
        text = (await scrape(runtime)).text
    documented = documented_metrics() - documented_metrics("useragent_server_")
    assert exposed_metrics(text) == documented
