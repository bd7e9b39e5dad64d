"""``async with open_runtime(settings, agents)``: the runtime inside a trio or an asyncio program.

:func:`running` is the same function under its first name.

Under trio the runtime runs in a nursery of the caller's. Under asyncio it runs in a
trio event loop on a thread of its own, and the agents' asyncio handlers run as tasks of
the caller's loop, beside the rest of the program (its HTTP server, its database pool).

Why a thread and not trio's guest mode: guest mode would run trio's scheduler on the
asyncio loop's thread and hand every trio I/O wait to a helper thread, so each wake-up of
the hot path (a poll's answer, a batch of results) would cross threads. On a thread of
its own the runtime keeps its own fast path; only asyncio handler calls cross, one hop
each way.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import sniffio
import trio

from .._registry import AgentSpec
from ..config import Settings
from ._observer import ExecutionObserver
from ._runtime import Runtime, serve


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    agents: Iterable[AgentSpec],
    *,
    observer: ExecutionObserver | None = None,
) -> AsyncIterator[Runtime]:
    """Serve ``agents`` while the block runs; on leaving it, drain them and return.

    ``async with open_runtime(settings, agents) as runtime:`` gives the block the
    :class:`Runtime`, typed (``await nursery.start(serve, ...)`` returns it as ``Any``, as
    trio types :meth:`trio.Nursery.start`). Works under trio and under asyncio (found
    with :mod:`sniffio`). The block begins once every agent is polling.
    :meth:`Runtime.stop` and :meth:`Runtime.abort` may be called from any thread.

    Leaving the block, however it is left, drains as cancelling :func:`serve` does:
    polling stops, running tasks get ``settings.grace_s`` seconds to finish, then are
    cancelled and reported ``FAILED`` (retryable, another worker gets them), and every
    result is sent before the ``async with`` statement completes. That holds when the
    block is left by an exception or by a cancellation too (under trio a cancel scope
    around the block, such as :func:`trio.fail_after`, under asyncio the task being
    cancelled): the drain is shielded, so it may outlast a deadline by up to the grace
    (plus the poll in flight and the final send), and the exception or cancellation
    propagates once it is done. For a shorter drain call ``runtime.stop(grace)`` in the
    block, for none ``runtime.abort()``. Under asyncio, a cancellation of the task while
    it waits for the drain aborts the drain.

    Raises what :func:`serve` raises: at entry when the agents cannot start (no agent id,
    credentials refused), at exit :class:`AgentFailed` when an agent had stopped on its own.
    """
    library = sniffio.current_async_library()
    if library == "trio":
        try:
            async with trio.open_nursery() as nursery:
                runtime: Runtime = await nursery.start(
                    functools.partial(serve, settings, agents, observer=observer)
                )
                try:
                    yield runtime
                finally:
                    runtime.stop()
        except BaseExceptionGroup as group:
            # As under asyncio: one error comes out as itself, not in the nursery's group.
            single = _unwrap(group)
            if single is group:
                raise
            raise single from None
        return
    if library != "asyncio":
        raise RuntimeError(f"open_runtime() works under trio or asyncio, not {library}")
    async with _on_own_thread(settings, list(agents), observer) as runtime:
        yield runtime


running = open_runtime
"""The first name of :func:`open_runtime`, kept for the programs that use it."""


@asynccontextmanager
async def _on_own_thread(
    settings: Settings, agents: list[AgentSpec], observer: ExecutionObserver | None
) -> AsyncIterator[Runtime]:
    loop = asyncio.get_running_loop()
    started: asyncio.Future[Runtime] = loop.create_future()
    finished: asyncio.Future[None] = loop.create_future()

    def settle(future: asyncio.Future[Runtime] | asyncio.Future[None], value: object) -> None:
        # On the asyncio loop's thread.
        if future.done():
            return
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            runtime: Runtime = await nursery.start(
                functools.partial(serve, settings, agents, observer=observer, asyncio_loop=loop)
            )
            loop.call_soon_threadsafe(settle, started, runtime)

    def end(outcome: object) -> None:
        # On the asyncio loop's thread: an error that came before the start is raised
        # by the start, and only there.
        if not started.done():
            settle(started, outcome if outcome is not None else RuntimeError("never started"))
            outcome = None
        settle(finished, outcome)

    def thread_main() -> None:
        outcome: object = None
        try:
            trio.run(main)
        except BaseException as exc:  # handed to the asyncio side, raised there
            outcome = _unwrap(exc)
        loop.call_soon_threadsafe(end, outcome)

    thread = threading.Thread(target=thread_main, name="useragent-runtime", daemon=True)
    thread.start()
    try:
        # Shielded: a cancelled start must still see the runtime it has to stop.
        runtime = await asyncio.shield(started)
    except asyncio.CancelledError:
        started.add_done_callback(_abort_when_started)
        raise
    try:
        yield runtime
    finally:
        runtime.stop()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            runtime.abort()
            raise
        # finished is settled as the thread's last act: this wait is short.
        await asyncio.to_thread(thread.join)


def _abort_when_started(started: asyncio.Future[Runtime]) -> None:
    if not started.cancelled() and started.exception() is None:
        started.result().abort()


def _unwrap(error: BaseException) -> BaseException:
    """The one exception inside nursery groups, when there is exactly one."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
