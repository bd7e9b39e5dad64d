"""The bench's workloads: what each contender runs, how many at once, how it is rated.

The scripts are checked as text and compiled (running the peers needs their venvs);
the tables are rendered from hand-made results. ``test_harness`` runs the real thing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

# benchmarks/ is not an installed package: the harness runs as a script beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from peers import WORKLOADS, build, venvs
from peers.agents import conductor_script, user_agent_script
from peers.proctree import TreeSampler
from peers.report import add_ratios, markdown
from peers.server import Server

_AGENT_SLEEP = "sleep(random.Random(n).uniform(1.0, 3.0))"


def _scripts(workload: str) -> dict[str, str]:
    return {
        "ours": user_agent_script("ours", workload, "t"),
        "user-agent-sdk": user_agent_script("uas", workload, "t"),
        "conductor-python": conductor_script(workload, "t"),
    }


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_every_contenders_script_for_every_workload_compiles(workload: str) -> None:
    for name, script in _scripts(workload).items():
        compile(script, f"{name}-{workload}.py", "exec")


def test_agent_async_handlers_await_the_same_1_to_3_s_per_task_on_their_own_loop() -> None:
    scripts = _scripts("agent-async")
    assert all("async def handle" in script for script in scripts.values())
    assert f"await trio.{_AGENT_SLEEP}" in scripts["ours"]
    assert 'event_loop="trio"' in scripts["ours"]  # else this project runs it on asyncio
    assert f"await asyncio.{_AGENT_SLEEP}" in scripts["user-agent-sdk"]
    assert f"await asyncio.{_AGENT_SLEEP}" in scripts["conductor-python"]


def test_async_10ms_asyncio_is_the_published_asyncio_handler_in_every_contender() -> None:
    scripts = _scripts("async-10ms-asyncio")
    for script in scripts.values():
        assert "async def handle(" in script
        assert "await asyncio.sleep(0.01)" in script
        assert "trio" not in script
    # No event_loop: this project runs it on asyncio, as it runs a published agent.
    assert "@user_agent(agent_id='t')\nasync def handle(" in scripts["ours"]
    # conductor-python's asyncio runner (AsyncTaskRunner) is the one it picks for async def.
    assert "thread_count=32)\nasync def handle(" in scripts["conductor-python"]


def test_this_projects_async_10ms_handler_is_written_for_trio() -> None:
    script = user_agent_script("ours", "async-10ms", "t")
    assert 'event_loop="trio"' in script
    assert "await trio.sleep(0.01)" in script


def test_sync_500ms_handlers_block_half_a_second_in_a_plain_def() -> None:
    for script in _scripts("sync-500ms").values():
        assert "\ndef handle(" in script
        assert "time.sleep(0.5)" in script


def test_conductor_python_serves_2000_at_once_as_20_workers_of_100() -> None:
    script = conductor_script("agent-async", "t")
    assert "[Worker('t', handle, thread_count=100) for _ in range(20)]" in script
    assert "thread_count=256" in conductor_script("sync-500ms", "t")
    assert "thread_count=32" in conductor_script("async-10ms", "t")


def test_this_project_and_user_agent_sdk_start_as_many_workers_as_the_workload_runs_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env = venvs.PeerEnv("user-agent-sdk", tmp_path / "venv", "3.13.0", "0.2.0")
    monkeypatch.setattr(venvs, "user_agent_sdk_env", lambda: fake_env)
    sampler = TreeSampler(os.getpid())
    sampler.stop()
    server = Server("http://127.0.0.1:9", "secret", tmp_path, sampler)
    for workload, concurrency in (
        ("agent-async", "2000"),
        ("sync-500ms", "256"),
        ("noop", "32"),
        ("async-10ms-asyncio", "32"),
    ):
        for flavour in ("ours", "ours-akabot"):
            ours = build(flavour).launch(tmp_path, server, workload, "t").argv
            assert ours[ours.index("-w") + 1] == concurrency
        theirs = build("user-agent-sdk").launch(tmp_path, server, workload, "t").argv
        assert theirs[theirs.index("--workers") + 1] == concurrency


def test_the_raw_client_is_not_run_where_its_figures_would_say_nothing_new() -> None:
    raw = build("raw")
    assert set(raw.skipped) == {"agent-async", "sync-500ms", "async-10ms-asyncio"}
    assert "no handler" in raw.skip_reason


def test_ideal_rate_is_concurrency_over_mean_handler_time() -> None:
    ideals = {name: workload.ideal_tasks_per_s for name, workload in WORKLOADS.items()}
    assert ideals == {
        "noop": None,
        "async-10ms": 3200,
        "async-10ms-asyncio": 3200,
        "sync-10ms": 3200,
        "agent-async": 1000,
        "sync-500ms": 512,
    }


def test_without_overhead_an_uneven_last_round_keeps_a_runtime_under_the_ideal() -> None:
    assert WORKLOADS["agent-async"].ceiling_share(20_000) == pytest.approx(0.918, abs=0.001)
    assert WORKLOADS["sync-500ms"].ceiling_share(20_000) == pytest.approx(20_000 / 256 / 79)
    assert WORKLOADS["async-10ms"].ceiling_share(20_000) == pytest.approx(1.0)
    assert WORKLOADS["noop"].ceiling_share(20_000) is None


def test_agent_async_handler_times_are_uniform_in_1_to_3_s_with_a_mean_of_2() -> None:
    times = [WORKLOADS["agent-async"].handler_time_s(n) for n in range(20_000)]
    assert 1.0 <= min(times) < 1.01
    assert 2.99 < max(times) <= 3.0
    assert sum(times) / len(times) == pytest.approx(2.0, abs=0.02)


def test_a_contender_may_drain_for_at_least_three_times_the_ideal_drain() -> None:
    assert WORKLOADS["sync-500ms"].cap_s(20_000, 60.0) >= 3 * 20_000 / 512
    assert WORKLOADS["agent-async"].cap_s(20_000, 60.0) == 60.0
    assert WORKLOADS["async-10ms"].cap_s(20_000, 60.0) == 60.0  # --cap is the floor
    assert WORKLOADS["noop"].cap_s(20_000, 60.0) == 60.0


_WORKLOADS = {
    "agent-async": {"tasks": 20_000, "concurrency": 2000, "cap_s": 60, "ideal_tasks_per_s": 1000.0}
}


def _run(contender: str, share: float, rss: float) -> dict[str, Any]:
    return {
        "contender": contender,
        "workload": "agent-async",
        "tasks": 20_000,
        "completed": 20_000,
        "failed": 0,
        "capped": False,
        "tasks_per_s": share * 1000,
        "share_of_ideal": share,
        "cpu_s_per_1000_tasks": 0.5,
        "peak_rss_mib": rss,
        "latency_p50_ms": 2010.0,
        "latency_p99_ms": 2990.0,
        "latency_tasks": 200,
        "latency_completed": 200,
    }


def _result(runs: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    machine = {"cores": 2, "cpu": "cpu", "arch": "x86_64", "memory_gib": 8, "os": "Linux"}
    return {
        "generated": "2026-11-28T12:00:00+00:00",
        "machine": {**machine, "python": "3.11.7"},
        "settings": {"quick": False, "latency_rate_per_s": 20, "latency_s": 10, **settings},
        "contenders": {
            "ours": {"label": "ours"},
            "conductor-python": {"label": "conductor-python 2.0.0"},
        },
        "runs": runs,
    }


def test_the_table_shows_the_share_of_ideal_and_whether_this_project_meets_its_target() -> None:
    runs = [_run("ours", 0.93, 70), _run("conductor-python", 0.17, 900)]
    add_ratios(runs)
    table = markdown(_result(runs, {"workloads": _WORKLOADS}))
    assert "**(d) async agent awaiting 1-3 s, 2,000 at once - ideal 1,000 tasks/s**" in table
    assert "| ours | 930 | 93% | 0.500 | 70 |" in table
    assert "target >= 90% of ideal, <= 150 MiB: met" in table
    assert "| conductor-python 2.0.0 | 170 (0.18x) | 17% |" in table

    too_big = markdown(_result([_run("ours", 0.93, 200)], {"workloads": _WORKLOADS}))
    assert "target >= 90% of ideal, <= 150 MiB: not met" in too_big


def test_tasks_a_contender_took_and_never_completed_are_noted() -> None:
    run = {**_run("conductor-python", 0.5, 161), "completed": 19_937}
    assert "| 63 never completed |" in markdown(_result([run], {"workloads": _WORKLOADS}))


def _asyncio_run(contender: str, tasks_per_s: float) -> dict[str, Any]:
    share = tasks_per_s / 3200
    return {
        **_run(contender, share, 45),
        "workload": "async-10ms-asyncio",
        "tasks_per_s": tasks_per_s,
    }


_ASYNCIO_WORKLOADS = {
    "async-10ms-asyncio": {
        "tasks": 20_000,
        "concurrency": 32,
        "cap_s": 60,
        "ideal_tasks_per_s": 3200.0,
    }
}


@pytest.mark.parametrize(
    ("ours", "theirs", "verdict"),
    [
        (2800.0, 600.0, ">= 85% of ideal, >= 3x conductor-python (is 4.7x): met"),
        (2800.0, 1000.0, ">= 85% of ideal, >= 3x conductor-python (is 2.8x): not met"),
        (2400.0, 600.0, ">= 85% of ideal, >= 3x conductor-python (is 4.0x): not met"),
    ],
)
def test_on_asyncio_handlers_this_project_aims_at_85_percent_and_3x_conductor_python(
    ours: float, theirs: float, verdict: str
) -> None:
    runs = [_asyncio_run("ours", ours), _asyncio_run("conductor-python", theirs)]
    add_ratios(runs)
    table = markdown(_result(runs, {"workloads": _ASYNCIO_WORKLOADS}))
    assert "**(b-asyncio) async handler awaiting asyncio.sleep 10 ms, 32 at once" in table
    assert f"target {verdict}" in table


def test_without_conductor_python_in_the_run_the_3x_target_is_not_judged() -> None:
    table = markdown(_result([_asyncio_run("ours", 2800.0)], {"workloads": _ASYNCIO_WORKLOADS}))
    assert "target >= 85% of ideal: met; 3x conductor-python: no run of it" in table


def test_a_result_from_before_per_workload_concurrency_is_presented_with_its_share() -> None:
    run = {**_run("ours", 0.0, 44), "workload": "async-10ms", "tasks_per_s": 2943.0}
    del run["share_of_ideal"]
    old = {"tasks": 20_000, "concurrency": 32, "cap_s": 60}
    table = markdown(_result([run], old))
    assert "**(b) async handler awaiting 10 ms, 32 at once - ideal 3,200 tasks/s**" in table
    assert "| ours | 2,943 | 92% |" in table
