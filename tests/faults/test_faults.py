"""Issue 15, "nothing lost, nothing done twice": real processes, real signals, every task
accounted for.

Each test runs ``useragent server`` on a SQLite file and ``useragent run`` workers as
child processes, puts thousands of tasks through them, does something unkind to one of
them, and then settles the books (see :mod:`.support`): every workflow's final state from
the server's API, every execution from the agent's own record. It prints its figures
(``pytest tests/faults -s`` shows them) and asserts with them; each process's output
stays in the test's ``tmp_path`` (``server-N.log``, ``<worker>/worker.log``), next to the
agent's ``executions.log`` and the server's ``queue.db``.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
import trio

from user_agent_sdk.runtime._pace import LIMIT_PER_SLOT

from .support import Figures, Scenario, Worker, log_lines

pytestmark = pytest.mark.slow

LEASE_S = 3
"""responseTimeoutSeconds of the submitted tasks, where a test waits for leases to run out."""
SERVER_KILL_LEASE_S = 10
"""Longer where the server is down for a while: a result waiting for the server to come
back is no longer under a lease the worker renews, and its delivery is retried with a
backoff (up to 10 s between tries); a lease shorter than outage plus backoff runs out, and
the task runs again (seen with 5 s leases and a 3 s outage)."""


def assert_nothing_lost_or_wrong(figures: Figures) -> None:
    assert not figures.lost, str(figures)
    assert not figures.wrong, str(figures)


async def test_server_killed_under_load_restarts_on_its_file_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """kill -9 the server while a worker is busy; restart it on the same file and port.

    The worker waits the outage out and posts the results it holds to the new server.
    A lease request the first server committed but never answered leaves its tasks leased
    to nobody until the lease runs out: they then run, once, as a second attempt (TIMED_OUT
    counts those); nothing runs twice unless a lease ran out during a long outage.
    """
    total = 3000
    async with Scenario(tmp_path, "kill -9 the server under load, restart it") as scenario:
        server = await scenario.start_server()
        await scenario.submit(total, responseTimeoutSeconds=SERVER_KILL_LEASE_S)
        await scenario.start_worker(Worker("w1", workers=16))
        await scenario.wait_executed(total // 3)
        killed_at = await scenario.kill(server)
        down = trio.current_time()
        await trio.sleep(0.5)
        await scenario.start_server()
        outage = trio.current_time() - down
        figures = await scenario.finish()

    before_kill = sorted(killed_at - at for at in figures.unexecuted_timeouts.values())
    if before_kill:
        first, last = before_kill[0], before_kill[-1]
        print(f"   never executed: leased {first:.3f}-{last:.3f} s before the kill")
    assert_nothing_lost_or_wrong(figures)
    assert figures.by_worker_id == {"w1": total}, str(figures)
    assert not figures.unexplained_re_executions(), str(figures)
    # A task leased and never executed was in an answer the crash cut off (a dropped task
    # would have been leased earlier).
    assert all(0 <= seconds < 2 for seconds in before_kill), f"{before_kill}\n{figures}"
    if outage < SERVER_KILL_LEASE_S / 2:
        assert not figures.re_executed, f"outage {outage:.1f} s\n{figures}"


async def test_worker_killed_under_load_reruns_only_what_it_held(tmp_path: Path) -> None:
    """kill -9 a busy worker and start another: the tasks the dead one held come back when
    their lease runs out, and only those whose result it had not delivered run again.

    What a worker holds at most, by its own accounting (``runtime._pace``): ``-w`` running
    plus a reserve of at most ``LIMIT_PER_SLOT`` per slot; it asks for more only in the
    request that posts results, so its unacknowledged results count within that.
    """
    total, slots = 3000, 8
    async with Scenario(tmp_path, "kill -9 a worker under load, start another") as scenario:
        await scenario.start_server()
        await scenario.submit(total, responseTimeoutSeconds=LEASE_S)
        victim = await scenario.start_worker(Worker("victim", workers=slots, handler="sync"))
        await scenario.wait_executed(total // 3)
        await scenario.kill(victim)
        heir = await scenario.start_worker(Worker("heir", workers=slots, handler="sync"))
        figures = await scenario.finish()

    held = figures.timed_out.get("victim", [])
    holding_bound = slots * (1 + LIMIT_PER_SLOT)
    print(f"   the victim held {len(held)} leases; -w {slots} + reserve: {holding_bound}")
    assert_nothing_lost_or_wrong(figures)
    # Only the leases the victim held ran out, and only their tasks ran again: each
    # re-executed input ran first in the victim, then once in the heir.
    assert set(figures.timed_out) <= {"victim"}, str(figures)
    assert not figures.unexplained_re_executions(), str(figures)
    assert len(figures.re_executed) <= len(held) <= holding_bound, str(figures)
    for runs in figures.re_executed.values():
        assert [run.pid for run in runs] == [victim.pid, heir.pid], str(figures)


async def test_sigterm_drains_a_busy_worker_within_its_grace(tmp_path: Path) -> None:
    """SIGTERM one of two busy workers: it hands back what it has not started, lets what
    runs finish and posts every result before it exits 0, within its grace. The other
    worker takes over. Nothing is lost, and nothing runs twice: a task handed back never
    ran, and every result got through before the worker exited."""
    total, grace = 3000, 10
    async with Scenario(tmp_path, "SIGTERM a worker under load") as scenario:
        await scenario.start_server()
        await scenario.submit(total, responseTimeoutSeconds=LEASE_S)
        _, leaves = await scenario.start_workers(
            Worker("stays", workers=8, handler="sync", task_seconds=0.004),
            Worker("leaves", workers=8, task_seconds=0.004, extra=("--grace", str(grace))),
        )
        await scenario.wait_executed(total // 6, by=leaves)
        code, took = await scenario.stop_worker("leaves")
        figures = await scenario.finish()

    stopped = log_lines([leaves], r"stopped: ")
    print(f"   leaves: {stopped[-1] if stopped else leaves.tail()}")
    assert code == 0, f"exit code {code}\n{leaves.tail()}"
    assert took < grace, f"the drain took {took:.1f} s, grace {grace} s\n{figures}"
    assert_nothing_lost_or_wrong(figures)
    assert not figures.re_executed, str(figures)
    assert not figures.timed_out, str(figures)
    assert figures.by_worker_id.get("leaves", 0) >= total // 6, str(figures)
    assert figures.by_worker_id.get("stays", 0) > 0, str(figures)


async def test_tokens_expiring_every_3_s_fail_no_task(tmp_path: Path) -> None:
    """A server that wants tokens and lets them live 3 s; a worker of each flavour (an
    Orkes key for Conductor, OAuth2 client credentials for akaBot) busy for 12 s while work
    trickles in. Every task completes at its first attempt; the worker's requests refused
    for an expired token (Orkes tokens carry no lifetime, so they are renewed on a 401)
    are answered 401 and tried again, never counted against a task."""
    rounds, per_round = 12, 150
    async with Scenario(tmp_path, "tokens that expire every 3 s") as scenario:
        await scenario.start_server("--token-ttl", "3", auth=True)
        await scenario.start_workers(
            Worker("orkes", workers=4, flavour="conductor", task_seconds=0.005),
            Worker("oauth", workers=4, flavour="akabot", task_seconds=0.005),
        )
        began = trio.current_time()
        for round_ in range(rounds):
            await scenario.submit(per_round)
            await trio.sleep_until(began + round_ + 1)
        figures = await scenario.finish()

    refused = collections.Counter(
        re.sub(r"/(fault-square|[0-9a-f-]{36})", "/{x}", match.group(1))
        for line in log_lines(scenario.servers, r" 401 ")
        if (match := re.search(r" 401 (\S+ \S+)", line))
    )
    complaints = log_lines(scenario.workers.values(), r"ERROR|WARNING")
    print(f"   401s the server answered, by path: {dict(refused)}")
    print(f"   tokens the submitter fetched: {scenario.api.tokens_fetched}")
    print(f"   worker warnings and errors: {len(complaints)}")
    assert_nothing_lost_or_wrong(figures)
    assert not figures.re_executed, str(figures)
    assert figures.attempts == {"COMPLETED": rounds * per_round}, str(figures)
    assert set(figures.by_worker_id) == {"orkes", "oauth"}, str(figures)
    assert scenario.api.tokens_fetched >= 3, "the tokens did not expire during the test"
    assert not complaints, "\n".join(complaints[:20])


async def test_a_conductor_and_an_akabot_worker_share_one_queue(tmp_path: Path) -> None:
    """Both flavours on one task type: Conductor (batch polls, update-batch) and akaBot
    (single polls on the external paths, one update per result) split the work."""
    total = 3000
    async with Scenario(tmp_path, "a Conductor and an akaBot worker on one queue") as scenario:
        await scenario.start_server()
        await scenario.submit(total, responseTimeoutSeconds=LEASE_S)
        await scenario.start_workers(
            Worker("conductor", workers=8, flavour="conductor"),
            Worker("akabot", workers=8, flavour="akabot", handler="sync"),
        )
        figures = await scenario.finish()

    assert_nothing_lost_or_wrong(figures)
    assert not figures.re_executed, str(figures)
    assert not figures.timed_out, str(figures)
    assert set(figures.by_worker_id) == {"conductor", "akabot"}, str(figures)
    assert min(figures.by_worker_id.values()) >= total // 20, str(figures)
