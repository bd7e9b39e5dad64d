"""Running ``async def`` handlers written for asyncio from the trio runtime.

The runtime is a trio program; a handler written for asyncio (``asyncio.sleep``,
aiohttp, asyncpg, most LLM tool kits) needs a running asyncio event loop. Each call
becomes an asyncio task on an :class:`AsyncioLoop`: the loop of the asyncio program that
embeds the runtime (:func:`~user_agent_sdk.running` under asyncio), or else a loop of
the runtime's own on a thread of its own (:meth:`AsyncioLoop.on_own_thread`).

The slot that makes the call waits for it in trio. When the slot is cancelled (the
shutdown grace ran out), the asyncio task is cancelled as asyncio cancels tasks (a
``CancelledError`` at its ``await``), and the slot waits for it to end, at most
:data:`CANCEL_WAIT_S`, before it reports the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import outcome
import trio

CANCEL_WAIT_S = 5.0
"""How long a cancelled slot waits for its asyncio task to finish cancelling."""
CLOSE_WAIT_S = 5.0
"""How long closing an own loop waits for tasks still running to finish cancelling."""


class AsyncioLoop:
    """An asyncio event loop, running on some thread, that runs handlers for trio callers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    @classmethod
    @contextlib.contextmanager
    def on_own_thread(cls, name: str = "useragent-asyncio") -> Iterator[AsyncioLoop]:
        """A new event loop running on a daemon thread until the block ends; then tasks
        still running on it are cancelled (and given :data:`CLOSE_WAIT_S` to finish)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
                _cancel_remaining(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        ready.wait()
        try:
            yield cls(loop)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    async def call(self, make: Callable[[], Awaitable[Any]]) -> outcome.Outcome[Any]:
        """Run ``make()`` as an asyncio task on this loop, in a copy of the caller's
        context, and wait for it in trio; how it ended. Cancelling the caller cancels
        the task and waits for it (at most :data:`CANCEL_WAIT_S`), then raises."""
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        context = contextvars.copy_context()
        started: list[asyncio.Task[Any]] = []

        def wake(_: object) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        def start() -> None:
            task = self.loop.create_task(_awaited(make), context=context)
            task.add_done_callback(wake)
            started.append(task)

        def cancel() -> None:
            if started:  # start() runs first: call_soon_threadsafe keeps the order
                started[0].cancel()

        self.loop.call_soon_threadsafe(start)
        try:
            await done.wait()
        except trio.Cancelled:
            self.loop.call_soon_threadsafe(cancel)
            with trio.CancelScope(shield=True), trio.move_on_after(CANCEL_WAIT_S):
                await done.wait()
            raise
        task = started[0]
        if task.cancelled():
            # Cancelled from inside asyncio (not by this call): the handler gave up.
            return outcome.Error(RuntimeError("the handler's asyncio task was cancelled"))
        error = task.exception()
        return outcome.Value(task.result()) if error is None else outcome.Error(error)


async def _awaited(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=CLOSE_WAIT_S))
