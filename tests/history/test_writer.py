"""The writer of ``-r`` embedded in a trio program: nothing blocks, nothing is lost, and a
database that cannot be written never fails a task."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import trio

from user_agent_sdk.conductor import TaskResultStatus, WorkflowStatus
from user_agent_sdk.history import HistoryError, HistoryStore, record_history
from user_agent_sdk.runtime import ExecutionRecord
from user_agent_sdk.server import RunningServer

from ..runtime.support import agents, all_finished, running, settings_for, submit_many


async def echo(input_data: dict[str, int]) -> dict[str, int]:
    await trio.sleep(0.001)
    return {"n": input_data["n"]}


def history_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "user_agent_sdk.history" and record.levelno >= logging.WARNING
    ]


def count(path: Path) -> int:
    with HistoryStore.open(path) as store:
        return store.count()


async def test_rows_of_an_embedded_runtime_are_written_when_the_block_ends(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "history.db"
    settings = settings_for(server, workers=8)
    async with (
        record_history(path) as recorder,
        running(settings, agents(echo), observer=recorder),
    ):
        ids = await submit_many(api, "echo", [{"n": n} for n in range(60)])
        done = await all_finished(api, ids)
    assert {workflow.status for workflow in done} == {WorkflowStatus.COMPLETED}
    assert recorder.written == 60
    with HistoryStore.open(path) as store:
        found = store.executions(limit=None)
    assert sorted(execution.conductor_task_id or "" for execution in found) == sorted(
        workflow.tasks[0].task_id for workflow in done
    )


def record(n: int) -> ExecutionRecord:
    now = time.time()
    return ExecutionRecord(
        agent_name="echo",
        agent_id="echo",
        task_id=f"task-{n}",
        workflow_instance_id=f"wf-{n}",
        attempt=1,
        platform_task_id=None,
        platform_agent_id=None,
        started_at=now,
        ended_at=now,
        status=TaskResultStatus.COMPLETED,
        input_data={"n": n},
        output_data={"n": n},
        reason=None,
    )


async def test_a_cancelled_block_still_writes_every_row_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with trio.CancelScope() as scope:
        async with record_history(path) as recorder:
            for n in range(5_000):
                recorder(record(n))
            scope.cancel()
            await trio.sleep_forever()
    assert count(path) == 5_000


async def test_recording_never_waits_for_the_disk(tmp_path: Path) -> None:
    async with record_history(tmp_path / "history.db") as recorder:
        started = time.perf_counter()
        for n in range(20_000):
            recorder(record(n))  # a plain call: no checkpoint, so the writer cannot run
        handed_over = time.perf_counter() - started
        assert recorder.written == 0
    assert recorder.written == 20_000
    assert handed_over < 5  # generous: 20,000 channel sends, not 20,000 inserts


async def test_a_locked_database_warns_once_and_fails_no_task(
    server: RunningServer,
    api: httpx.AsyncClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "history.db"
    HistoryStore.open(path, create=True).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for seconds
    try:
        async with (
            record_history(path) as recorder,
            running(settings_for(server, workers=8), agents(echo), observer=recorder),
        ):
            ids = await submit_many(api, "echo", [{"n": n} for n in range(40)])
            done = await all_finished(api, ids)
            assert {workflow.status for workflow in done} == {WorkflowStatus.COMPLETED}
            with trio.fail_after(30):
                while not history_warnings(caplog):
                    await trio.sleep(0.1)
            assert recorder.written == 0
            await trio.sleep(3)  # retries fail too, quietly
            holder.execute("ROLLBACK")
            with trio.fail_after(30):
                while recorder.written < 40:
                    await trio.sleep(0.1)
    finally:
        holder.close()
    (warning,) = history_warnings(caplog)
    assert warning.startswith(f"execution history: cannot write to {path} (database is locked)")
    assert count(path) == 40


async def test_rows_that_cannot_be_written_by_the_end_are_counted_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db"
    HistoryStore.open(path, create=True).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async with record_history(path) as recorder:
            for n in range(10):
                recorder(record(n))
    finally:
        holder.close()
    assert history_warnings(caplog)[-1] == (
        f"execution history: 10 executions could not be written to {path}"
    )


async def test_a_database_locked_at_start_is_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the file exists, empty, and is locked
    async with record_history(path) as recorder:
        recorder(record(1))
        await trio.sleep(0.5)
        holder.execute("ROLLBACK")
        holder.close()
        with trio.fail_after(30):
            while recorder.written < 1:
                await trio.sleep(0.1)
    assert len(history_warnings(caplog)) == 1
    assert count(path) == 1


@pytest.mark.parametrize("rows", [0, 1, 5, 255, 256, 257, 1_000])
def test_a_batch_of_any_size_is_written_whole_and_in_order(tmp_path: Path, rows: int) -> None:
    with HistoryStore.open(tmp_path / "history.db", create=True) as store:
        assert store.record(record(n) for n in range(rows)) == rows
        found = store.executions(limit=None)
    assert [execution.conductor_task_id for execution in reversed(found)] == [
        f"task-{n}" for n in range(rows)
    ]
    assert [execution.id for execution in reversed(found)] == list(range(1, rows + 1))


async def test_a_file_that_is_no_history_is_refused_on_entry(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 100)
    with pytest.raises(HistoryError, match="not an execution history database"):
        async with record_history(path):
            raise AssertionError("the block must not run")
