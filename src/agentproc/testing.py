"""Test a handler in process: run one turn and get back what a bridge would have seen.

Example, with pytest-trio (or wrap the call in ``trio.run``)::

    from agentproc import AgentContext
    from agentproc.testing import run_handler

    async def test_echo() -> None:
        outcome = await run_handler(handler, AgentContext(message="hi"))
        assert outcome.exit_status == 0
        assert outcome.reply == "echo: hi"

The turn runs exactly as under :func:`agentproc.create_profile` (same writer, same rules
for return values, errors and the body escape), except that stdout and stderr are captured
instead of the process's, no signal handlers are installed and nothing exits.

A context with ``wire="0.4"`` runs a wire-0.4 turn; ``permission_responses`` are the lines
the bridge would write on stdin::

    ctx = AgentContext(message="ls", wire="0.4", permission=True)
    answer = {"type": "permission_response", "request_id": "agentproc-1", "behavior": "allow"}
    outcome = await run_handler(handler, ctx, permission_responses=[answer])
    assert outcome.events[0]["type"] == "permission_request"
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from agentproc._context import AgentContext, context_from_env
from agentproc._outcome import EventLoop, Handler
from agentproc._output import BufferSink
from agentproc._permission import StdinLines
from agentproc._transcript import read_transcript
from agentproc._turn import Turn

__all__ = ["TurnOutcome", "run_handler"]


@attrs.frozen
class TurnOutcome:
    """One turn as a bridge sees it: the raw streams, the exit status and their reading."""

    exit_status: int
    """What the process would have exited with (0, 1, or the code of ``sys.exit``)."""
    stdout: bytes
    """Every byte written to stdout, protocol lines and body."""
    stderr: str
    """The SDK's messages for the developer (never shown to the user)."""
    partials: list[str]
    """Decoded ``AGENT_PARTIAL:`` chunks, in order."""
    error: str | None
    """Decoded text of the ``AGENT_ERROR:`` line, or ``None``."""
    session_id: str
    """The declared session id, ``""`` when none."""
    reply: str
    """The reply body a bridge would send (lines as sent; ``""`` after an error)."""
    events: list[dict[str, Any]] = attrs.field(factory=list)
    """Wire 0.4: every JSON object written, in order (``[]`` for a 0.1 turn)."""
    usage: dict[str, Any] | None = None
    """Wire 0.4: the ``usage`` a bridge would keep, or None."""

    @property
    def lines(self) -> list[str]:
        """stdout split into lines as a bridge reads it: at ``\\n``, newlines removed."""
        lines = self.stdout.decode("utf-8", "replace").split("\n")
        return lines[:-1] if lines[-1] == "" else lines


async def run_handler(
    handler: Handler,
    context: AgentContext | Mapping[str, str] | None = None,
    *,
    debug: bool = False,
    permission_responses: Sequence[Mapping[str, Any]] = (),
    event_loop: EventLoop | None = None,
) -> TurnOutcome:
    """Run ``handler`` for one turn inside the current trio run and report the outcome.

    ``context`` is an :class:`AgentContext`, or a mapping of ``AGENT_*`` variables read as
    ``create_profile`` reads the environment; by default, an empty context. Sync handlers
    run in a worker thread, as in a real process. ``debug`` adds tracebacks to
    ``stderr`` as ``AGENT_DEBUG=1`` does. Cancelling the call cancels the handler.
    """
    stderr = io.StringIO()

    def warn(message: str) -> None:
        stderr.write(f"agentproc: {message}\n")

    if context is None:
        context = AgentContext()
    elif not isinstance(context, AgentContext):
        context = context_from_env(context, warn)
    sink = BufferSink()
    stdin = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in permission_responses))
    turn = Turn(
        handler, context, sink, stderr, debug=debug, stdin=StdinLines(stdin), event_loop=event_loop
    )
    status = await turn.run()
    stdout = bytes(sink.data)
    if context.wire == "0.4":
        return _event_outcome(status, stdout, stderr)
    transcript = read_transcript(stdout)
    return TurnOutcome(
        exit_status=status,
        stdout=stdout,
        stderr=stderr.getvalue(),
        partials=transcript.partials,
        error=transcript.error,
        session_id=transcript.session_id,
        reply=transcript.reply,
    )


def _event_outcome(status: int, stdout: bytes, stderr: io.StringIO) -> TurnOutcome:
    from agentproc.bridge._events import EventRules

    rules = EventRules(streaming=True, warn=lambda message: None)
    events = []
    for line in stdout.decode("utf-8", "replace").split("\n")[:-1]:
        rules.feed(line)
        value = json.loads(line)
        events.append(value)
    return TurnOutcome(
        exit_status=status,
        stdout=stdout,
        stderr=stderr.getvalue(),
        partials=[str(partial) for partial in rules.partials],
        error=rules.error,
        session_id=rules.session_id,
        reply=rules.reply if rules.error is None else "",
        events=events,
        usage=rules.usage,
    )
