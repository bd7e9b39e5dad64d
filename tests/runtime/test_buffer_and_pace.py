"""The runtime's task buffer (leased tasks waiting for a slot) and its pace (the reserve)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.conductor import Task
from user_agent_sdk.runtime._buffer import TaskBuffer
from user_agent_sdk.runtime._pace import ROUND_TRIPS_COVERED, SLOW_TRIP_HALF_LIFE_S, Pace


def _tasks(*ids: str) -> list[Task]:
    return [Task(task_id=task_id) for task_id in ids]


def _ids(tasks: Sequence[Task | None]) -> list[str | None]:
    return [None if task is None else task.task_id for task in tasks]


def _limit(workers: int) -> int:
    """The most a reserve can be: three times the slots (Pace's docstring, the README)."""
    return 3 * workers


# -- TaskBuffer ----------------------------------------------------------------------------


async def test_tasks_come_out_of_the_buffer_in_the_order_they_went_in() -> None:
    buffer = TaskBuffer()
    buffer.put(_tasks("a", "b"))
    buffer.put(_tasks("c"))
    buffer.put([])
    assert len(buffer) == 3
    assert _ids([await buffer.get() for _ in range(3)]) == ["a", "b", "c"]
    assert len(buffer) == 0


async def test_get_waits_until_a_task_is_put() -> None:
    buffer = TaskBuffer()
    got: list[Task | None] = []

    async def getter() -> None:
        got.append(await buffer.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(getter)
        await trio.testing.wait_all_tasks_blocked()
        assert (got, buffer.waiting) == ([], 1)  # parked, not returned
        buffer.put(_tasks("a"))
    assert _ids(got) == ["a"]
    assert (buffer.waiting, len(buffer)) == (0, 0)


async def test_a_put_wakes_one_waiting_getter_per_task() -> None:
    buffer = TaskBuffer()
    got: list[Task | None] = []

    async def getter() -> None:
        got.append(await buffer.get())

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(getter)
        await trio.testing.wait_all_tasks_blocked()
        assert buffer.waiting == 3
        buffer.put(_tasks("a", "b"))
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(task.task_id for task in got if task is not None) == ["a", "b"]
        assert len(got) == 2
        assert (buffer.waiting, len(buffer)) == (1, 0)  # the third still waits
        buffer.put(_tasks("c"))
    assert _ids(got)[2] == "c"
    assert buffer.waiting == 0


async def test_a_cancelled_getter_stops_counting_and_takes_nothing() -> None:
    buffer = TaskBuffer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(buffer.get)
        await trio.testing.wait_all_tasks_blocked()
        assert buffer.waiting == 1
        nursery.cancel_scope.cancel()
    assert buffer.waiting == 0
    buffer.put(_tasks("a"))
    assert _ids([await buffer.get()]) == ["a"]


async def test_close_returns_the_tasks_waiting_and_get_returns_none_from_then_on() -> None:
    buffer = TaskBuffer()
    buffer.put(_tasks("a", "b"))
    assert _ids(buffer.close()) == ["a", "b"]
    assert len(buffer) == 0
    assert await buffer.get() is None
    assert buffer.close() == []  # nothing left the second time


async def test_close_wakes_every_waiting_getter_with_none() -> None:
    buffer = TaskBuffer()
    got: list[Task | None] = []

    async def getter() -> None:
        got.append(await buffer.get())

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(getter)
            await trio.testing.wait_all_tasks_blocked()
            assert buffer.waiting == 3
            assert buffer.close() == []
    assert got == [None, None, None]
    assert buffer.waiting == 0


async def test_a_thread_takes_the_oldest_task_which_counts_until_acknowledged() -> None:
    buffer = TaskBuffer()
    assert buffer.take_from_thread() is None
    buffer.put(_tasks("a", "b"))
    taken = await trio.to_thread.run_sync(buffer.take_from_thread)
    assert _ids([taken]) == ["a"]
    assert len(buffer) == 2  # "a" is on its way to its slot, still held by this worker
    buffer.acknowledge()
    assert len(buffer) == 1
    assert _ids([await buffer.get()]) == ["b"]
    buffer.put(_tasks("c"))
    buffer.close()
    assert buffer.take_from_thread() is None  # closed: threads start nothing new


async def test_threads_taking_while_slots_get_and_a_stop_closes_hand_out_each_task_once() -> None:
    buffer = TaskBuffer()
    stop = threading.Event()
    by_threads: list[list[Task]] = [[] for _ in range(4)]

    def take(mine: list[Task]) -> None:
        while not stop.is_set():
            task = buffer.take_from_thread()
            if task is not None:
                mine.append(task)
            time.sleep(0.0001)  # let trio's slots have their share

    threads = [threading.Thread(target=take, args=(mine,)) for mine in by_threads]
    for thread in threads:
        thread.start()
    by_slots: list[Task] = []

    async def slot() -> None:
        while (task := await buffer.get()) is not None:
            by_slots.append(task)
            await trio.sleep(0.0005)  # trio lets go of the GIL: the threads take theirs

    ids = [str(n) for n in range(2000)]
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(slot)
            for start in range(0, len(ids), 100):
                buffer.put(_tasks(*ids[start : start + 100]))
                await trio.sleep(0.005)
            left = buffer.close()
    stop.set()
    for thread in threads:
        thread.join()
    handed_out = [task for mine in by_threads for task in mine] + by_slots + left
    assert sorted(_ids(handed_out), key=lambda i: int(i or -1)) == ids
    assert by_slots  # both kinds of taker took some
    assert any(by_threads)


# -- Pace ----------------------------------------------------------------------------------


def _pace(workers: int, handler_s: float | None, round_trip_s: float | None) -> Pace:
    pace = Pace(workers)
    if handler_s is not None:
        pace.handler_ran(handler_s)
    if round_trip_s is not None:
        pace.round_trip(round_trip_s, now=0.0)
    return pace


def test_no_reserve_until_both_a_handler_time_and_a_round_trip_are_known() -> None:
    assert _pace(4, None, None).reserve() == 0
    assert _pace(4, 0.001, None).reserve() == 0
    assert _pace(4, None, 0.5).reserve() == 0
    assert _pace(4, 0.001, 0.5).reserve() > 0  # the same two together do give a reserve


def test_handlers_much_longer_than_a_round_trip_get_no_reserve() -> None:
    # 8 slots free up 8 * 4 * 2 ms / 1 s = 0.064 tasks in four round trips.
    assert _pace(8, 1.0, 0.002).reserve() == 0
    assert _pace(2, 0.3, 0.005).reserve() == 0  # the runtime test's case, at 5 ms a trip
    assert _pace(64, 10.0, 0.03).reserve() == 0


def test_near_zero_handler_time_gives_the_whole_limit_and_no_more() -> None:
    for workers in (1, 4, 8, 100):
        assert _pace(workers, 0.0, 0.001).reserve() == _limit(workers)
        assert _pace(workers, 1e-9, 10.0).reserve() == _limit(workers)


def test_the_reserve_grows_with_the_round_trip() -> None:
    # Powers of two, so that the arithmetic is exact: 4 * 4 * rt / 0.125 s.
    reserves = [_pace(4, 0.125, 2.0**-k).reserve() for k in (8, 7, 6, 5, 4, 3)]
    assert reserves == [0, 1, 2, 4, 8, 12]  # 0.5, 1, 2, 4, 8, then 16 capped at 3 x 4


def test_a_slower_trip_counts_at_once() -> None:
    pace = _pace(4, 0.125, 2.0**-6)
    assert pace.reserve() == 2
    pace.round_trip(2.0**-4, now=0.001)
    assert pace.reserve() == 8


def test_a_slow_trip_is_forgotten_with_a_half_life_down_to_the_latest_trip() -> None:
    # Sized for the slow trips: faster ones after a slow one do not shrink the reserve
    # until the slow one has aged (4 slots, 0.125 s handlers: reserve = 128 * trip).
    pace = _pace(4, 0.125, 2.0**-4)  # reserve 8, at time 0
    pace.round_trip(2.0**-8, now=0.0)
    assert pace.reserve() == 8
    pace.round_trip(2.0**-8, now=SLOW_TRIP_HALF_LIFE_S)
    assert pace.reserve() == 4
    pace.round_trip(2.0**-8, now=2 * SLOW_TRIP_HALF_LIFE_S)
    assert pace.reserve() == 2
    pace.round_trip(2.0**-8, now=60.0)  # long after: the latest trip is all that counts
    assert pace.reserve() == 0
    pace.round_trip(2.0**-6, now=60.0)
    assert pace.reserve() == 2


@given(
    workers=st.integers(min_value=1, max_value=256),
    handler_s=st.floats(min_value=0.0, max_value=60.0, allow_nan=False),
    round_trips=st.lists(
        st.floats(min_value=0.0, max_value=5.0, allow_nan=False), min_size=2, max_size=6
    ),
)
def test_the_reserve_stays_within_its_limit_and_never_shrinks_as_trips_grow(
    workers: int, handler_s: float, round_trips: list[float]
) -> None:
    reserves = [_pace(workers, handler_s, trip).reserve() for trip in sorted(round_trips)]
    assert all(0 <= reserve <= _limit(workers) for reserve in reserves)
    assert reserves == sorted(reserves)
    # Against the formula: what the slots use up in ROUND_TRIPS_COVERED round trips.
    longest = max(round_trips)
    expected = int(workers * ROUND_TRIPS_COVERED * longest / max(handler_s, 1e-6))
    assert reserves[-1] == min(_limit(workers), expected)
