"""A slot's own thread for sync handlers: results, errors, context, cancellation, clean-up."""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections.abc import Callable

import pytest
import trio
import trio.testing

from user_agent_sdk.runtime._threads import Returns, SlotThread

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


async def _wait_gone(prefix: str) -> None:
    with trio.fail_after(10):
        while _threads_named(prefix):
            await trio.sleep(0.01)


async def test_calls_run_on_one_thread_of_the_slot_in_order() -> None:
    thread: SlotThread[None] = SlotThread("slot-order")
    names = [await thread.run(lambda: threading.current_thread().name) for _ in range(5)]
    assert len(set(names)) == 1
    assert names[0].startswith("slot-order-")
    assert names[0] != threading.current_thread().name
    thread.close()
    await _wait_gone("slot-order")


async def test_an_exception_is_raised_in_the_caller_and_the_thread_goes_on() -> None:
    thread: SlotThread[None] = SlotThread("slot-error")

    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await thread.run(fail)
    assert await thread.run(lambda: 42) == 42
    thread.close()
    await _wait_gone("slot-error")


async def test_the_call_sees_the_callers_context() -> None:
    thread: SlotThread[None] = SlotThread("slot-context")
    request_id.set("task-7")
    assert await thread.run(request_id.get) == "task-7"
    thread.close()
    await _wait_gone("slot-context")


async def test_cancellation_abandons_the_call_and_the_next_call_gets_a_fresh_thread() -> None:
    thread: SlotThread[None] = SlotThread("slot-cancel")
    release = threading.Event()
    finished = threading.Event()

    def blocked() -> None:
        release.wait(10)
        finished.set()

    started = time.monotonic()
    with trio.move_on_after(0.1) as scope:
        await thread.run(blocked)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 5  # did not wait for the call
    first = _threads_named("slot-cancel")
    assert len(first) == 1  # still running the abandoned call
    name = await thread.run(lambda: threading.current_thread().name)
    assert name != first[0].name
    release.set()
    with trio.fail_after(10):
        while not finished.is_set():
            await trio.sleep(0.01)
    thread.close()
    await _wait_gone("slot-cancel")  # the retired thread ended after its call, too


async def test_an_already_cancelled_caller_runs_nothing() -> None:
    thread: SlotThread[None] = SlotThread("slot-precancelled")
    ran: list[int] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        await thread.run(lambda: ran.append(1))
    assert ran == []
    assert _threads_named("slot-precancelled") == []  # no thread was even started


async def test_many_slots_sharing_one_way_back_each_get_their_own_results() -> None:
    returns = Returns(trio.lowlevel.current_trio_token())
    threads: list[SlotThread[None]] = [SlotThread("slot-shared", returns) for _ in range(16)]
    got: dict[int, list[int]] = {}

    def answer(value: int) -> int:
        time.sleep(0.001)  # returns overlap, so hand-backs carry several at once
        return value

    async def slot(n: int) -> None:
        got[n] = [await threads[n].run(functools.partial(answer, n * 1000 + i)) for i in range(20)]

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for n in range(len(threads)):
                nursery.start_soon(slot, n)
    assert got == {n: [n * 1000 + i for i in range(20)] for n in range(len(threads))}
    for thread in threads:
        thread.close()
    await _wait_gone("slot-shared")


# -- follow-ups: the thread goes straight on to the next call ---------------------------------


class _Feed:
    """A ``follow`` for tests: hands the thread the next of ``values`` (tagged with it)."""

    def __init__(self, values: list[int], hold: threading.Event | None = None) -> None:
        self.values = list(values)
        self.hold = hold
        self.threads: list[str] = []

    def __call__(self) -> tuple[functools.partial[int], int] | None:
        if not self.values:
            return None
        value = self.values.pop(0)
        return functools.partial(self.call, value), value

    def call(self, value: int) -> int:
        self.threads.append(threading.current_thread().name)
        if self.hold is not None:
            self.hold.wait(10)
        return value * 10


async def test_a_follow_up_starts_on_the_same_thread_and_is_named_in_the_result() -> None:
    feed = _Feed([1, 2, 3])
    thread: SlotThread[int] = SlotThread("slot-follow", follow=feed)
    returned = await thread.call(lambda: feed.call(0))
    seen = [(returned.outcome.unwrap(), returned.followed)]
    while returned.followed is not None:
        returned = await thread.wait()
        seen.append((returned.outcome.unwrap(), returned.followed))
    assert seen == [(0, 1), (10, 2), (20, 3), (30, None)]
    assert len(set(feed.threads)) == 1
    assert thread.orphans == []
    # With nothing to follow, the next call is the slot's again.
    assert (await thread.call(lambda: 7)).followed is None
    thread.close()
    await _wait_gone("slot-follow")


async def test_each_follow_up_runs_in_a_fresh_copy_of_the_slots_context() -> None:
    seen: list[str] = []

    def look_and_change() -> None:
        seen.append(request_id.get())
        request_id.set("changed by a handler")

    def follow() -> tuple[Callable[[], None], int] | None:
        return (look_and_change, len(seen)) if len(seen) < 3 else None

    thread: SlotThread[int] = SlotThread("slot-follow-context", follow=follow)
    request_id.set("slot")
    returned = await thread.call(look_and_change)
    while returned.followed is not None:
        returned = await thread.wait()
    assert seen == ["slot", "slot", "slot"]
    assert request_id.get() == "slot"
    thread.close()
    await _wait_gone("slot-follow-context")


async def test_a_cancelled_wait_abandons_its_follow_up_and_the_thread_starts_no_more() -> None:
    hold = threading.Event()
    feed = _Feed([1, 2], hold=hold)
    thread: SlotThread[int] = SlotThread("slot-orphan", follow=feed)
    returned = await thread.call(lambda: 0)
    assert returned.followed == 1  # now running, held
    with trio.move_on_after(0.1) as scope:
        await thread.wait()
    assert scope.cancelled_caught
    # The call the slot waited for is abandoned; nothing it would follow with is started.
    hold.set()
    await _wait_gone("slot-orphan")
    assert feed.values == [2]
    assert thread.orphans == []  # 1 was seen by the slot (it was waiting for it)


async def test_a_follow_up_started_as_the_wait_is_cancelled_is_listed_as_an_orphan() -> None:
    go, hold, followed = threading.Event(), threading.Event(), threading.Event()

    def follow() -> tuple[Callable[[], bool], int] | None:
        followed.set()
        return functools.partial(hold.wait, 10), 5

    thread: SlotThread[int] = SlotThread("slot-orphan-race", follow=follow)
    with trio.CancelScope() as scope:

        async def cancel_once_followed() -> None:
            # Without yielding to trio, so that the hand-back of the first call (and of
            # the news of its follow-up) cannot reach the slot before the cancellation.
            go.set()
            assert followed.wait(10)
            scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(thread.call, functools.partial(go.wait, 10))
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(cancel_once_followed)
    assert thread.orphans == [5]  # started, never returned to the slot: its to answer for
    hold.set()
    await _wait_gone("slot-orphan-race")


async def test_many_following_slots_run_every_call_once() -> None:
    returns = Returns(trio.lowlevel.current_trio_token())
    shared = list(range(400))
    lock = threading.Lock()

    def follow() -> tuple[functools.partial[int], int] | None:
        with lock:
            if not shared:
                return None
            value = shared.pop(0)
        return functools.partial(_sleepy_double, value), value

    done: list[int] = []

    async def slot(n: int) -> None:
        thread: SlotThread[int] = SlotThread("slot-many", returns, follow=follow)
        returned = await thread.call(functools.partial(_sleepy_double, -1 - n))
        while True:
            done.append(returned.outcome.unwrap())
            if returned.followed is None:
                break
            returned = await thread.wait()
        thread.close()

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for n in range(8):
                nursery.start_soon(slot, n)
    assert sorted(done) == sorted([2 * v for v in range(400)] + [2 * (-1 - n) for n in range(8)])
    await _wait_gone("slot-many")


def _sleepy_double(value: int) -> int:
    time.sleep(0.0005)
    return 2 * value
