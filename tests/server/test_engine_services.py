"""The engine's database services: each runs under its own name, and the deadline timer
and the queue signals do what their callers rely on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio
import trio.testing

from user_agent_sdk.server._engine import TaskEngine
from user_agent_sdk.server._queues import QueueSignals
from user_agent_sdk.server._store import Store
from user_agent_sdk.server._timer import RETRY_AFTER_MS, DeadlineTimer


def _names(task: trio.lowlevel.Task) -> set[str]:
    found = {task.name}
    for nursery in task.child_nurseries:
        for child in nursery.child_tasks:
            found |= _names(child)
    return found


async def test_the_engine_runs_each_database_service_under_its_own_name(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine.db")
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(TaskEngine(store).run, name="engine")
            engine_task = next(t for t in nursery.child_tasks if t.name == "engine")
            assert {"group commit", "WAL checkpointer", "deadline timer"} <= _names(engine_task)
            nursery.cancel_scope.cancel()
    finally:
        store.close()


def _epoch_ms() -> int:
    return int(trio.current_time() * 1000)


async def test_the_timer_sleeps_until_the_next_deadline_unless_told_of_an_earlier_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = _epoch_ms()
    rounds: list[int] = []

    async def work(since: int, now: int) -> int | None:
        rounds.append(now - start)
        return start + 1000 if now < start + 1000 else None

    timer = DeadlineTimer(_epoch_ms, work)
    async with trio.open_nursery() as nursery:
        await nursery.start(timer.run)
        await trio.sleep(0.1)
        timer.wake_by(start + 2000)  # later than the next deadline: changes nothing
        timer.wake_by(start + 500)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert rounds == [0, 100, 1000]


async def test_the_timer_tries_a_round_that_failed_on_the_database_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rounds: list[tuple[int, int]] = []

    async def work(since: int, now: int) -> int | None:
        rounds.append((since, now))
        if len(rounds) == 1:
            raise sqlite3.OperationalError("database is locked")
        return None

    timer = DeadlineTimer(_epoch_ms, work)
    async with trio.open_nursery() as nursery:
        await nursery.start(timer.run)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    (since, first), (since_again, second) = rounds
    assert second - first == RETRY_AFTER_MS
    assert since_again == since  # what fell due meanwhile is done by the retry


async def test_a_poll_waiting_on_its_queue_wakes_when_work_is_signalled_there() -> None:
    signals = QueueSignals()
    woken: list[str] = []

    async def wait(name: str, queue: tuple[str, str]) -> None:
        await signals.wait(queue, trio.current_time() + 10)
        woken.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, "a", ("encode", ""))
        nursery.start_soon(wait, "b", ("encode", "gpu"))
        await trio.testing.wait_all_tasks_blocked()
        signals.notify(("encode", ""))
        await trio.testing.wait_all_tasks_blocked()
        assert woken == ["a"]
        nursery.cancel_scope.cancel()


async def test_a_poll_waits_on_its_queue_no_longer_than_its_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    started = trio.current_time()
    await QueueSignals().wait(("encode", ""), started + 2)
    assert trio.current_time() - started == 2
