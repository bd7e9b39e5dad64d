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
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import attrs

from agentproc._context import AgentContext, context_from_env
from agentproc._output import BufferSink
from agentproc._transcript import read_transcript
from agentproc._turn import Handler, Turn

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
    status = await Turn(handler, context, sink, stderr, debug=debug).run()
    stdout = bytes(sink.data)
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
