"""A turn answered without an event loop, for a handler that cannot wait on one.

An ``async def`` function whose body has no ``await``, ``async for`` or ``async with`` runs
to its end in the first step of its coroutine: under ``trio.run`` it would run exactly so,
in one go on the main thread, and nothing in it could reach the run without importing trio
first. :func:`create_profile` therefore runs such a handler here, without importing trio,
when nothing has imported trio yet and the script names no event loop; anything else runs
on trio as before. The turn reads, writes and exits as a turn on trio does, including
SIGTERM / SIGINT: a handler that never yields cannot be cancelled, on trio or here, so a
signal that arrives while it runs is acted on once its answer is written: the process
then exits with 143 / 130.
"""

from __future__ import annotations

import dis
import inspect
import signal
import sys
import threading
import types
from collections.abc import Coroutine
from types import FrameType
from typing import Any

import attrs

from agentproc import _wire
from agentproc._context import AgentContext
from agentproc._event_channel import EventChannel, Unawaited01Channel
from agentproc._outcome import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EventLoop,
    Handler,
    Judge,
    default_event_loop,
    session_id_01,
    session_id_04,
)
from agentproc._output import EventWriter, FdSink
from agentproc._permission import StdinLines
from agentproc._wire_in_use import reset_wire, use_wire

SIGNAL_STATUS = {signal.SIGTERM: EXIT_SIGTERM, signal.SIGINT: EXIT_SIGINT}

# Every point where a coroutine's own frame can give control away compiles to one of these.
_SUSPENDING = frozenset(
    {
        "YIELD_VALUE",
        "YIELD_FROM",
        "SEND",
        "GET_AWAITABLE",
        "GET_AITER",
        "GET_ANEXT",
        "BEFORE_ASYNC_WITH",
        "END_ASYNC_FOR",
    }
)


def answers_at_once(handler: Handler, event_loop: EventLoop | None) -> bool:
    """True when ``handler`` can be answered here, with the same outcome as on trio."""
    if event_loop is not None or "trio" in sys.modules:
        return False
    if not isinstance(handler, types.FunctionType) or not inspect.iscoroutinefunction(handler):
        return False
    if default_event_loop(handler) != "trio":
        return False  # written for asyncio: it may look for its running loop
    return not any(op.opname in _SUSPENDING for op in dis.get_instructions(handler.__code__))


class _SignalLatch:
    """Keeps the first SIGTERM / SIGINT while the handler runs, instead of dying of it."""

    def __init__(self) -> None:
        self.status: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalLatch:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNAL_STATUS:
                self._previous[signum] = signal.signal(signum, self._keep)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _keep(self, signum: int, frame: FrameType | None) -> None:
        if self.status is None:
            self.status = SIGNAL_STATUS[signal.Signals(signum)]


def answer_at_once(
    handler: Handler, context: AgentContext, stdin: StdinLines | None, judge: Judge
) -> tuple[int, bool]:
    """Run the turn; its exit status, and whether a signal stopped it."""
    events = EventWriter(FdSink(1))
    channel = EventChannel(events, stdin or StdinLines(None)) if context.wire == "0.4" else None
    context = attrs.evolve(context, _channel=channel or Unawaited01Channel())
    with _SignalLatch() as latch:
        token = use_wire(context.wire)
        try:
            result = _run_to_end(handler(context))
        except SystemExit as exc:
            status = judge.exit_requested(exc)
        except Exception as exc:
            status = _failed(exc, judge, channel, events)
        else:
            status = _deliver(result, judge, channel, events)
        finally:
            reset_wire(token)
    if latch.status is not None:
        return latch.status, True
    events.close()
    if events.failure is not None:
        judge.say(f"stdout was closed by its reader ({events.failure}); output was lost")
        status = status or EXIT_ERROR
    return status, False


def _run_to_end(coroutine: object) -> object:
    assert isinstance(coroutine, Coroutine)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()  # answers_at_once let through a handler that can suspend
    raise RuntimeError("agentproc: the handler suspended with no event loop to resume it")


def _deliver(
    result: object, judge: Judge, channel: EventChannel | None, events: EventWriter
) -> int:
    reply = judge.reply(result, session_id_01 if channel is None else session_id_04)
    if isinstance(reply, int):
        return reply
    if channel is None:
        session_id, text, _ = reply  # 0.1 has no usage
        events.emit(_wire.encode_reply(session_id, text))
    else:
        channel.write_result(*reply)
    return EXIT_OK


def _failed(exc: Exception, judge: Judge, channel: EventChannel | None, events: EventWriter) -> int:
    message = judge.protocol_error(exc)
    if message is not None:
        if channel is None:
            events.emit(_wire.encode_error(message))
        else:
            channel.write_error(message)
    judge.report_failure(exc)
    return EXIT_ERROR
