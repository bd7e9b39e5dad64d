"""One turn: run the handler next to the stdout writer and decide the exit status.

Shared by :func:`agentproc.create_profile` (a real process, fd 1, signals) and
:func:`agentproc.testing.run_handler` (in process, a buffer), so both behave alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

import attrs
import trio

from agentproc._channel import Wire01Channel, Wire04Channel
from agentproc._context import AgentContext
from agentproc._event_channel import EventChannel, TurnChannel
from agentproc._outcome import (
    EXIT_ERROR,
    EXIT_OK,
    EventLoop,
    Handler,
    Judge,
    default_event_loop,
    is_async,
    session_id_01,
    session_id_04,
)
from agentproc._output import BlockingSink, EventWriter, Sink
from agentproc._permission import StdinLines
from agentproc._stdout_writer import StdoutWriter
from agentproc._wire_in_use import reset_wire, use_wire


async def _invoke(handler: Handler, context: AgentContext, event_loop: EventLoop) -> object:
    if is_async(handler) and event_loop == "asyncio":
        return await _invoke_on_asyncio(handler, context)
    if is_async(handler):
        return await handler(context)  # type: ignore[misc]
    # A sync handler may block as long as it likes; abandon_on_cancel lets a signal end
    # the turn without waiting for it (its later sends are dropped).
    result: object = await trio.to_thread.run_sync(handler, context, abandon_on_cancel=True)
    if inspect.isawaitable(result):  # a plain callable that returned a coroutine
        result = await result
    return result


async def _invoke_on_asyncio(handler: Handler, context: AgentContext) -> object:
    import asyncio

    async def call() -> object:
        return await handler(context)  # type: ignore[misc]

    # A loop of its own in a worker thread: cancelling the turn (a signal) abandons it.
    return await trio.to_thread.run_sync(asyncio.run, call(), abandon_on_cancel=True)


class Turn:
    """Runs ``handler`` once with ``context``, writing its answer to ``sink``.

    The answer goes out in ``context.wire``. :meth:`run` returns the process exit status the
    spec asks for: 0 success, 1 error (``ProtocolError``, any other exception, a lost
    stdout, or in 0.1 ``send_error``), or the status given to :meth:`stop`. ``stdin`` is
    where a 0.4 turn reads permission responses (none: end of file at once). An ``async def``
    handler runs on ``event_loop``: ``"trio"`` (in this run) or ``"asyncio"`` (``asyncio.run``
    in a worker thread); None: :func:`default_event_loop`. Messages for
    the developer go to ``stderr``, one line each (with tracebacks when ``debug`` is set);
    the user only ever sees stdout.
    """

    def __init__(
        self,
        handler: Handler,
        context: AgentContext,
        sink: Sink,
        stderr: TextIO,
        *,
        debug: bool = False,
        stdin: StdinLines | None = None,
        event_loop: EventLoop | None = None,
    ) -> None:
        self._stdin = stdin if stdin is not None else StdinLines(None)
        self._event_loop = event_loop or default_event_loop(handler)
        self._handler = handler
        self._context = context
        self._sink = sink
        self._judge = Judge(stderr, debug=debug)
        self._handler_scope = trio.CancelScope()
        self._stop_status: int | None = None

    def stop(self, exit_status: int) -> None:
        """Cancel the handler; the turn ends with ``exit_status`` once accepted lines are out.

        Only the first call counts. Lines the handler had not yet handed to the writer are
        not written; a sync handler's thread is abandoned, not waited for.
        """
        if self._stop_status is None:
            self._stop_status = exit_status
            self._handler_scope.cancel()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop_status is not None

    async def run(self) -> int:
        """Run the turn to its end and return the exit status."""
        if self._context.wire == "0.4":
            return await self._run_events()
        writer = StdoutWriter(self._sink)
        status = EXIT_ERROR
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            try:
                status = await self._answer(Wire01Channel(writer), _Lines01(writer))
            finally:
                writer.close()
        return self._final_status(status, writer.failure)

    async def _run_events(self) -> int:
        if not isinstance(self._sink, BlockingSink):
            raise TypeError("a wire-0.4 turn writes at call time: its sink needs write_now()")
        events = EventWriter(self._sink)
        status = EXIT_ERROR
        async with trio.open_nursery() as nursery:
            channel = Wire04Channel(events, self._stdin, nursery)
            try:
                status = await self._answer(channel, _Events04(channel))
            finally:
                events.close()
                nursery.cancel_scope.cancel()  # the stdin reader of request_permission
        return self._final_status(status, events.failure)

    def _final_status(self, status: int, failure: OSError | None) -> int:
        if failure is not None:
            self._judge.say(f"stdout was closed by its reader ({failure}); output was lost")
            status = status or EXIT_ERROR
        return self._stop_status if self._stop_status is not None else status

    async def _answer(self, channel: TurnChannel, out: _Out) -> int:
        context = attrs.evolve(self._context, _channel=channel)
        with self._handler_scope:
            try:
                result = await self._invoke(context)
            except SystemExit as exc:
                return self._judge.exit_requested(exc)
            except Exception as exc:
                return await self._failed(exc, out)
            return await self._deliver(result, out)
        assert self._stop_status is not None  # only stop() cancels this scope
        return self._stop_status

    async def _invoke(self, context: AgentContext) -> object:
        # The history helpers have no context at hand: they read the wire from here.
        token = use_wire(context.wire)
        try:
            return await _invoke(self._handler, context, self._event_loop)
        finally:
            reset_wire(token)

    async def _deliver(self, result: object, out: _Out) -> int:
        if out.turn_failed:
            return EXIT_ERROR  # 0.1: the reply of a failed turn is discarded
        reply = self._judge.reply(result, out.check_session_id)
        if isinstance(reply, int):
            return reply
        await out.reply(*reply)
        return EXIT_OK

    async def _failed(self, exc: Exception, out: _Out) -> int:
        message = self._judge.protocol_error(exc)
        if message is not None:
            await out.error(message)
        self._judge.report_failure(exc)
        return EXIT_ERROR


class _Out(Protocol):
    """What a turn's end writes, in the wire of the turn."""

    @property
    def turn_failed(self) -> bool: ...

    def check_session_id(self, raw: str) -> tuple[str | None, str]: ...

    async def reply(self, session_id: str, text: str, usage: Mapping[str, Any] | None) -> None: ...

    async def error(self, message: str) -> None: ...


class _Lines01:
    """Wire 0.1: a session line and the body; an error line is terminal."""

    def __init__(self, writer: StdoutWriter) -> None:
        self._writer = writer

    @property
    def turn_failed(self) -> bool:
        return self._writer.error_sent

    def check_session_id(self, raw: str) -> tuple[str | None, str]:
        return session_id_01(raw)

    async def reply(self, session_id: str, text: str, usage: Mapping[str, Any] | None) -> None:
        await self._writer.send_reply(session_id, text)  # 0.1 has no usage

    async def error(self, message: str) -> None:
        await self._writer.send_error(message)


class _Events04:
    """Wire 0.4: one ``result`` event; an ``error`` event does not end the turn."""

    def __init__(self, channel: EventChannel) -> None:
        self._channel = channel

    @property
    def turn_failed(self) -> bool:
        return False  # the bridge, not the agent, drops what follows an error

    def check_session_id(self, raw: str) -> tuple[str | None, str]:
        return session_id_04(raw)

    async def reply(self, session_id: str, text: str, usage: Mapping[str, Any] | None) -> None:
        self._channel.write_result(session_id, text, usage)
        await trio.lowlevel.checkpoint()

    async def error(self, message: str) -> None:
        self._channel.write_error(message)
        await trio.lowlevel.checkpoint()
