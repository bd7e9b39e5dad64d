"""A slot's own thread for sync handlers: results, errors, context, cancellation, clean-up."""

from __future__ import annotations

import contextvars
import functools
import threading
import time

import pytest
import trio

from user_agent_sdk.runtime._threads import Returns, SlotThread

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


async def _wait_gone(prefix: str) -> None:
    with trio.fail_after(10):
        while _threads_named(prefix):
            await trio.sleep(0.01)


async def test_calls_run_on_one_thread_of_the_slot_in_order() -> None:
    thread = SlotThread("slot-order")
    names = [await thread.run(lambda: threading.current_thread().name) for _ in range(5)]
    assert len(set(names)) == 1
    assert names[0].startswith("slot-order-")
    assert names[0] != threading.current_thread().name
    thread.close()
    await _wait_gone("slot-order")


async def test_an_exception_is_raised_in_the_caller_and_the_thread_goes_on() -> None:
    thread = SlotThread("slot-error")

    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await thread.run(fail)
    assert await thread.run(lambda: 42) == 42
    thread.close()
    await _wait_gone("slot-error")


async def test_the_call_sees_the_callers_context() -> None:
    thread = SlotThread("slot-context")
    request_id.set("task-7")
    assert await thread.run(request_id.get) == "task-7"
    thread.close()
    await _wait_gone("slot-context")


async def test_cancellation_abandons_the_call_and_the_next_call_gets_a_fresh_thread() -> None:
    thread = SlotThread("slot-cancel")
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
    thread = SlotThread("slot-precancelled")
    ran: list[int] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        await thread.run(lambda: ran.append(1))
    assert ran == []
    assert _threads_named("slot-precancelled") == []  # no thread was even started


async def test_many_slots_sharing_one_way_back_each_get_their_own_results() -> None:
    returns = Returns(trio.lowlevel.current_trio_token())
    threads = [SlotThread("slot-shared", returns) for _ in range(16)]
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
