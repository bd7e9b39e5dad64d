"""freeze_startup_heap: what is alive is frozen, what is garbage is not kept."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from user_agent_sdk.cli._heap import freeze_startup_heap
from user_agent_sdk.server import RunningServer

from ..runtime.support import clean_env, finished, submit, worker_process


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session keeps a normal heap


@pytest.mark.usefixtures("unfrozen")
def test_live_objects_are_frozen_and_cyclic_garbage_is_collected_first() -> None:
    kept = [_Node()]
    cycle = _Node()
    cycle.other = _Node()
    cycle.other.other = cycle  # unreachable once dropped: only the cyclic collector frees it
    cycle_ref = weakref.ref(cycle)
    del cycle
    assert gc.get_freeze_count() == 0

    freeze_startup_heap()

    assert cycle_ref() is None, "garbage made before the freeze was frozen instead of freed"
    assert gc.get_freeze_count() > 1000  # the interpreter's own modules and classes
    assert gc.is_tracked(kept)
    # Objects allocated afterwards are collected as usual.
    later = _Node()
    later.other = later
    later_ref = weakref.ref(later)
    del later
    gc.collect()
    assert later_ref() is None


AGENT = """
import gc
from user_agent_sdk import user_agent

@user_agent(agent_id="heap")
def report(input_data):
    return {"frozen": gc.get_freeze_count()}
"""


async def test_useragent_run_serves_with_its_startup_heap_frozen(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    workflow_id = await submit(api, "heap", {})
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["run", str(agent)], cwd=tmp_path, env=env) as worker:
        done = await finished(api, workflow_id)
        worker.signal(2)
        assert await worker.wait() == 0
    # trio, httpx, cattrs and the script: far more than a bare interpreter's few thousand.
    assert done.output["frozen"] > 20_000
