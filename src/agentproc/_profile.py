"""``create_profile``: the process around one turn (environment, signals, exit status)."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, NoReturn

from agentproc._at_once import SIGNAL_STATUS, answer_at_once, answers_at_once
from agentproc._context import AgentContext, context_from_env, context_from_turn_line, wire_of
from agentproc._outcome import EXIT_SIGINT, EventLoop, Handler, Judge
from agentproc._permission import StdinLines

if TYPE_CHECKING:
    from agentproc._turn import Turn


def create_profile(handler: Handler, *, event_loop: EventLoop | None = None) -> NoReturn:
    """Answer one bridge turn with ``handler``, then exit the process with the spec's status.

    Call it once, at the bottom of the agent script. The turn's wire decides how it is read
    and answered: when any ``AGENT_*`` protocol variable is set (a wire-0.1 bridge always
    sets ``AGENT_PROTOCOL_VERSION``) the variables are the turn and stdin is left alone;
    otherwise exactly one stdin line is read as a wire-0.4 turn object (a missing or bad
    line gives the defaults). It runs ``handler(ctx)`` under ``trio.run`` (an ``async def``
    handler in the run's nursery, a plain function in a worker thread through
    ``trio.to_thread``) and writes its answer on stdout, in the same wire. An ``async def``
    handler written for asyncio (``event_loop="asyncio"``, or by default when its module
    uses asyncio and not trio, as agents for the protocol's own SDKs do) runs under
    ``asyncio.run`` in a worker thread instead. An ``async def`` handler with no ``await``,
    ``async for`` or ``async with`` in its body, in a script that names no event loop and
    has not imported trio, runs to its end in one step on the main thread, as it would
    under ``trio.run``, without starting trio. Either way:

    - 0.1: ``str`` -> the reply body; ``AgentResult`` -> an ``AGENT_SESSION:`` line, then
      the body; body lines that start with a protocol prefix get a leading space.
    - 0.4: ``str`` or ``AgentResult`` -> one ``result`` event (``session_id`` and ``usage``
      when set; nothing when all are empty).
    - ``None`` -> nothing more (everything went out through ``send_partial``).
    - ``raise ProtocolError("m")`` -> ``AGENT_ERROR:"m"`` (0.1) or an ``error`` event
      (0.4), exit 1. Any other exception -> one line on stderr (the traceback when
      ``AGENT_DEBUG=1``), exit 1, no error line.
    - SIGTERM / SIGINT cancel the handler; lines already handed to the writer are written
      and the process exits with 143 / 130 without running ``atexit`` hooks, so that
      threads the handler left behind cannot hold the exit up.

    stdout belongs to the SDK for the whole turn: ``print()`` from the handler goes to
    stderr, where it cannot be mistaken for reply text. Child processes inherit the real
    fd 1, so capture their output rather than letting it through.
    """
    debug = os.environ.get("AGENT_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    stdin = None
    if wire_of(os.environ) == "0.1":
        context = context_from_env(os.environ)
    else:
        stdin = StdinLines(0)
        context = context_from_turn_line(stdin.readline())
    sys.stdout.flush()  # anything printed before the turn goes out before the turn's lines
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        if answers_at_once(handler, event_loop):
            judge = Judge(sys.stderr, debug=debug)
            status, stopped = answer_at_once(handler, context, stdin, judge)
        else:
            status, stopped = _run_on_trio(handler, context, stdin, debug, event_loop)
    finally:
        sys.stdout = real_stdout
    if stopped:
        sys.stderr.flush()
        os._exit(status)
    # The interpreter's teardown runs the cyclic collector over every object that trio and
    # the converters created at import; none of them can be garbage by now, and skipping
    # them takes a fifth off a hello-world agent's life. Objects freed by reference count,
    # atexit hooks and thread joins are untouched.
    gc.freeze()
    sys.exit(status)


def _run_on_trio(
    handler: Handler,
    context: AgentContext,
    stdin: StdinLines | None,
    debug: bool,
    event_loop: EventLoop | None,
) -> tuple[int, bool]:
    """The turn under ``trio.run``: its exit status, and whether a signal stopped it."""
    import trio

    from agentproc._output import FdSink
    from agentproc._turn import Turn

    turn = Turn(
        handler, context, FdSink(1), sys.stderr, debug=debug, stdin=stdin, event_loop=event_loop
    )
    try:
        status = trio.run(_serve, turn)
    except KeyboardInterrupt:  # SIGINT before the signal receiver was in place
        status = EXIT_SIGINT
    return status, turn.stopped


async def _serve(turn: Turn) -> int:
    import trio

    if threading.current_thread() is not threading.main_thread():
        return await turn.run()  # signal handlers can only be set in the main thread
    with trio.open_signal_receiver(*SIGNAL_STATUS) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, signals, turn)
            status = await turn.run()
            nursery.cancel_scope.cancel()
    return status


async def _stop_on_signal(signals: AsyncIterator[int], turn: Turn) -> None:
    import signal

    async for signum in signals:
        turn.stop(SIGNAL_STATUS[signal.Signals(signum)])
