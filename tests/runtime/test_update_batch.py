"""update-batch: results posted in batches that lease the next tasks, and the fall-backs.

The runtime runs for real against the embedded server over loopback, through the
counting forwarder of tests/runtime/forwarding.py, which also plays a server without
update-batch (it answers 404 or 405 to those paths and forwards everything else).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import attrs
import httpx
import pytest
import trio

from user_agent_sdk.conductor import (
    CONDUCTOR,
    ConductorClient,
    Task,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    Workflow,
    WorkflowStatus,
    encode_result,
)
from user_agent_sdk.runtime._delivery import EXCHANGES_IN_FLIGHT
from user_agent_sdk.server import RunningServer

from .forwarding import PLAIN_UPDATE, UPDATE_BATCH, UPDATE_V2, Forwarder, forwarding
from .support import (
    agents,
    all_finished,
    finished,
    running,
    settings_for,
    submit,
    submit_many,
    workflow,
)


async def triple(input_data: dict[str, int]) -> int:
    return input_data["n"] * 3


def _completed(task_id: str, n: int) -> bytes:
    return encode_result(
        TaskResult(task_id, TaskResultStatus.COMPLETED, worker_id="w", output_data={"n": n})
    )


def _only_task(done: Workflow) -> Task:
    [task] = done.tasks
    return task


def _check_tripled(done: Sequence[Workflow]) -> None:
    """Workflow n (input n) completed with output 3 n."""
    assert [w.status for w in done] == [WorkflowStatus.COMPLETED] * len(done)
    assert [w.output for w in done] == [{"result": 3 * n} for n in range(len(done))]


def _check_each_result_posted_once(forwarder: Forwarder, done: Sequence[Workflow]) -> None:
    task_ids = [_only_task(w).task_id for w in done]
    assert Counter(forwarder.results) == Counter(task_ids)


# -- the runtime against our server ------------------------------------------------------


async def test_our_server_gets_all_results_in_far_fewer_update_batch_requests(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    tasks = 200
    async with forwarding(server) as forwarder:
        settings = attrs.evolve(settings_for(server), api_url=forwarder.api_url)
        with trio.fail_after(90):
            async with running(settings, agents(triple, workers=8)):
                ids = await submit_many(api, "triple", [{"n": n} for n in range(tasks)])
                done = await all_finished(api, ids, timeout=80)
    _check_tripled(done)
    _check_each_result_posted_once(forwarder, done)
    assert forwarder.seen[PLAIN_UPDATE] == 0
    assert forwarder.seen[UPDATE_V2] == 0
    # Each request carries the results gathered while the one before was under way
    # (20 to 32 requests for the 200 results in trial runs).
    assert 1 <= forwarder.seen[UPDATE_BATCH] < tasks // 2


# -- a server without update-batch ---------------------------------------------------------


async def test_without_update_batch_it_is_tried_once_then_results_go_by_update_v2(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async with forwarding(server, missing=(UPDATE_BATCH,)) as forwarder:
        settings = attrs.evolve(settings_for(server), api_url=forwarder.api_url)
        with trio.fail_after(60):
            async with running(settings, agents(triple, workers=4)):
                # One task alone first, so that no second exchange can be under way before
                # the refusal is back: the endpoint's absence is then found by one request.
                first = await finished(api, await submit(api, "triple", {"n": 0}))
                assert forwarder.seen[UPDATE_BATCH] == 1
                # Its result went by update-v2, which had room to lease a next task.
                assert (forwarder.seen[UPDATE_V2], forwarder.seen[PLAIN_UPDATE]) == (1, 0)
                ids = await submit_many(api, "triple", [{"n": n} for n in range(1, 40)])
                rest = await all_finished(api, ids, timeout=50)
    done = [first, *rest]
    _check_tripled(done)
    _check_each_result_posted_once(forwarder, done)
    assert forwarder.seen[UPDATE_BATCH] == 1  # never tried again
    assert forwarder.seen[UPDATE_V2] + forwarder.seen[PLAIN_UPDATE] == len(done)
    # update-v2 whenever a slot has room for the task it leases; a plain update otherwise.
    assert forwarder.seen[UPDATE_V2] > forwarder.seen[PLAIN_UPDATE]


@pytest.mark.parametrize("answer", [404, 405])
async def test_results_of_batches_refused_together_are_all_delivered(
    server: RunningServer, api: httpx.AsyncClient, answer: int
) -> None:
    ids = await submit_many(api, "triple", [{"n": n} for n in range(60)])
    async with forwarding(server, missing=(UPDATE_BATCH,), answer=answer) as forwarder:
        settings = attrs.evolve(settings_for(server), api_url=forwarder.api_url)
        with trio.fail_after(60):
            async with running(settings, agents(triple, workers=8)):
                done = await all_finished(api, ids, timeout=50)
    _check_tripled(done)
    _check_each_result_posted_once(forwarder, done)
    # Exchanges already under way when the first refusal comes back are refused too.
    assert 1 <= forwarder.seen[UPDATE_BATCH] <= EXCHANGES_IN_FLIGHT
    assert forwarder.seen[UPDATE_V2] + forwarder.seen[PLAIN_UPDATE] == len(done)


# -- no reserve for slow handlers ---------------------------------------------------------


def _now_ms() -> int:
    """Epoch milliseconds, as the server's clock gives them (rounded down)."""
    return time.time_ns() // 1_000_000


def _most_at_once(intervals: Sequence[tuple[int, int]]) -> int:
    """The most of the [start, end) ``intervals`` that overlap at one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = held = 0
    for _, change in events:  # at the same millisecond an end (-1) comes before a start
        held += change
        most = max(most, held)
    return most


async def test_handlers_much_longer_than_a_round_trip_hold_no_reserve(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    # A handler of 1 s is "much longer" than a round trip even on a loaded machine: the
    # pace holds a reserve only when 4 round trips free a slot, i.e. trips of 125 ms here.
    workers, tasks = 2, 6
    returned_ms: dict[int, int] = {}

    async def slow(input_data: dict[str, int]) -> int:
        await trio.sleep(1.0)
        returned_ms[input_data["n"]] = _now_ms()
        return input_data["n"]

    # What the worker holds is what it has leased and not yet run to the end: the tasks
    # IN_PROGRESS on the server whose handler has not returned (a task whose handler has
    # returned stays IN_PROGRESS there until the batch carrying its result arrives).
    #
    # One at a time, so that the queue hands them out in this order.
    ids = [await submit(api, "slow", {"n": n}) for n in range(tasks)]
    samples: list[int] = []

    async def held() -> int:
        # Not one snapshot but one request per workflow. Tasks are leased in queue order,
        # so reading the newest first can only miss a lease made during the sample (the
        # next sample sees it), never count a task and then, later in the same sample,
        # the one that replaced it. A handler that returns after its task was read is
        # left out too: the sample can only count too few, never too many.
        count = 0
        for n in reversed(range(tasks)):
            found = await workflow(api, ids[n])
            if any(task.status is TaskStatus.IN_PROGRESS for task in found.tasks):
                count += n not in returned_ms
        return count

    with trio.fail_after(60):
        async with running(settings_for(server), agents(slow, workers=workers)):
            while len(returned_ms) < tasks:
                samples.append(await held())
                await trio.sleep(0.05)
            done = [await finished(api, workflow_id) for workflow_id in ids]
    assert [w.output for w in done] == [{"result": n} for n in range(tasks)]
    assert len(samples) >= 10  # sampled all along: 6 x 1 s on 2 slots is >= 3 s
    assert max(samples) == workers, samples  # both slots busy, never a task in reserve
    # The same from the whole run: from its lease (the server's clock) until its handler
    # returned, no more than ``workers`` tasks at once. A lease that a result brings is
    # made after that result's handler returned, so the two intervals do not overlap.
    leases = [(_only_task(w).start_time, returned_ms[n]) for n, w in enumerate(done)]
    assert _most_at_once(leases) == workers, leases


# -- ConductorClient.update_batch ---------------------------------------------------------


async def test_update_batch_names_an_unknown_task_and_applies_the_other_results(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    ids = [await submit(api, "mixed", {"n": n}) for n in range(3)]
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        tasks = await client.poll("mixed", count=2, worker_id="w", timeout_ms=100)
        assert [task.workflow_instance_id for task in tasks] == ids[:2]
        bodies = [_completed(tasks[0].task_id, 10), _completed("no-such-task", 0)]
        bodies.append(_completed(tasks[1].task_id, 11))
        answer = await client.update_batch("mixed", bodies, count=5, worker_id="w")
        assert client.updates_in_batches
    assert answer is not None
    assert answer.unknown_task_ids == ["no-such-task"]
    [leased] = answer.tasks  # the one task left in the queue, leased to this worker
    assert (leased.workflow_instance_id, leased.status) == (ids[2], TaskStatus.IN_PROGRESS)
    assert leased.worker_id == "w"
    for workflow_id, n in zip(ids[:2], (10, 11), strict=True):
        done = await workflow(api, workflow_id)
        assert (done.status, done.output) == (WorkflowStatus.COMPLETED, {"n": n})
    assert (await workflow(api, ids[2])).status is WorkflowStatus.RUNNING


async def test_a_long_update_batch_answer_comes_back_whole_and_in_queue_order(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    # Read a few tasks at a time between checkpoints: every task, once, in order.
    ids = [await submit(api, "long", {"n": n}) for n in range(21)]
    async with ConductorClient(server.api_url, CONDUCTOR) as client:
        [first] = await client.poll("long", count=1, worker_id="w", timeout_ms=100)
        body = _completed(first.task_id, 0)
        answer = await client.update_batch("long", [body], count=50, worker_id="w")
    assert answer is not None
    assert [task.workflow_instance_id for task in answer.tasks] == ids[1:]
    assert {task.input_data["n"] for task in answer.tasks} == set(range(1, 21))


@pytest.mark.parametrize("answer", [404, 405])
async def test_update_batch_on_a_server_without_it_returns_none_and_stops_trying(
    server: RunningServer, api: httpx.AsyncClient, answer: int
) -> None:
    workflow_id = await submit(api, "absent", {"n": 1})
    async with (
        forwarding(server, missing=(UPDATE_BATCH,), answer=answer) as forwarder,
        ConductorClient(forwarder.api_url, CONDUCTOR) as client,
    ):
        [task] = await client.poll("absent", count=1, worker_id="w", timeout_ms=100)
        body = _completed(task.task_id, 1)
        before = client.updates_in_batches
        assert await client.update_batch("absent", [body], count=1, worker_id="w") is None
        assert (before, client.updates_in_batches) == (True, False)
        assert await client.update_batch("absent", [body], count=1, worker_id="w") is None
        assert forwarder.seen[UPDATE_BATCH] == 1  # the second call sent nothing
        # Nothing was applied: the result still has to be posted another way.
        assert (await workflow(api, workflow_id)).status is WorkflowStatus.RUNNING
        await client.update_json(body)
    done = await workflow(api, workflow_id)
    assert (done.status, done.output) == (WorkflowStatus.COMPLETED, {"n": 1})
