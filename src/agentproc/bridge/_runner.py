"""The runner: one agent process per turn, on trio.

::

    run_turn
    └── turn nursery
        ├── stdout reader    lines -> OutputRules (0.1) or EventRules (0.4); partials to
        │                    on_partial as they come
        ├── stderr reader    keeps the tail; lines to on_stderr
        ├── stdin writer     0.1 with ``stdin: message``: the message, then EOF;
        │                    0.4: the turn line, then EOF (or permission answers)
        ├── approver         0.4 with ``permission: true``: requests answered in order
        └── (body)           waits for the process under the deadline; on timeout
                             SIGTERM -> kill_grace_secs -> SIGKILL, to the whole group

This module starts the process and turns how it ended into a :class:`RunResult`; the
started process is an ``AgentProcess`` (``_process``, wire 0.1) or an
``EventAgentProcess`` (``_event_process``, wire 0.4).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import trio

from agentproc.bridge._event_process import EventAgentProcess
from agentproc.bridge._launch import TurnInput, describe_spawn_failure, plan_launch
from agentproc.bridge._lifeline import dies_with_this_process
from agentproc.bridge._permission import Approver
from agentproc.bridge._process import (
    AgentProcess,
    PartialCallback,
    TurnCallbacks,
    open_agent_process,
)
from agentproc.bridge._profile_yaml import Profile, Warn, note_to_stderr
from agentproc.bridge._result import (
    EXIT_ERROR,
    RunResult,
    event_exit_code,
    exit_code,
    failure_message,
    timeout_message,
    truncate,
    with_stderr,
)

__all__ = ["EMPTY_TURN_ERROR", "PartialCallback", "run_turn"]


async def run_turn(
    profile: Profile,
    turn: TurnInput | None = None,
    *,
    on_partial: PartialCallback | None = None,
    on_stderr: Callable[[str], object] | None = None,
    warn: Warn = note_to_stderr,
    environ: Mapping[str, str] | None = None,
    on_permission: Approver | None = None,
) -> RunResult:
    """Run one turn of the agent that ``profile`` describes and report how it ended.

    The agent starts with no shell, in a new session (its own process group), with the
    ``AGENT_*`` variables of ``turn`` (default: an empty message) on top of ``environ``
    (default ``os.environ``) and the profile's ``env``. Its stdout is read as wire 0.1
    says: each partial goes to ``on_partial`` the moment it arrives (awaited when it returns
    an awaitable), stderr lines go to ``on_stderr``, and protocol problems to ``warn``.

    After ``timeout_secs`` the group gets SIGTERM, then SIGKILL after ``kill_grace_secs``.
    When the agent exits, any process it left behind in its group is ended the same way, so
    no grandchild outlives the turn. Every process is reaped and every pipe closed before
    this returns. Should this process die during the turn, however it dies (SIGKILL
    included), the group is ended the same way by a watcher process that the first turn
    starts and that lives as long as this process (see :func:`dies_with_this_process`); to
    that end the agent's environment also holds ``AGENTPROC_LIFELINE``.

    Wire 0.4 (``profile.wire``): the turn goes to the agent as one JSON line on stdin, and
    its stdout is read as NDJSON events (see :mod:`agentproc.bridge._events`): each partial
    reaches ``on_partial`` as a :class:`Partial` (a ``str`` with its ``role``; thinking is
    forwarded too). With ``permission: true`` stdin stays open, and each permission request
    goes to ``on_permission``, whose answers are written back in request order; without an
    approver requests stay unanswered until the timeout denies them ("permission timed
    out", before SIGTERM). A turn with no message and no attachment is refused without
    starting anything (exit code 1).

    Raises :class:`LaunchError` when the process cannot be started (nothing ran). If the
    call is cancelled, or a callback raises, the group is ended as on a timeout (SIGTERM,
    grace, SIGKILL, shielded from the cancellation) before the cancellation or the
    callback's exception (inside an ``ExceptionGroup``, as from any nursery) propagates.
    """
    turn = turn if turn is not None else TurnInput()
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        warn(message)

    carries_content = turn.message or turn.attachments or turn.image_url or turn.file_url
    if profile.wire == "0.4" and not carries_content:
        return _empty_turn(turn)
    launch = plan_launch(profile, turn, os.environ if environ is None else environ)
    started = trio.current_time()
    with dies_with_this_process(profile.kill_grace_secs, warn=note) as tie:
        try:
            process = await open_agent_process(launch, tie.env)
        except OSError as exc:
            raise describe_spawn_failure(exc, launch, profile) from None
        tie.started(process.pid)
        callbacks = TurnCallbacks(on_partial, on_stderr, on_permission)
        if profile.wire == "0.4":
            events = EventAgentProcess(process, profile, launch, note, callbacks)
            returncode = await events.run()
            duration = trio.current_time() - started
            return _event_result(profile, events, returncode, notes, duration)
        agent = AgentProcess(process, profile, launch, note, callbacks)
        returncode = await agent.run()  # returns (or raises) once the group has ended
    return _result(profile, turn, agent, returncode, notes, trio.current_time() - started)


EMPTY_TURN_ERROR = "turn.message is required (or include turn.attachments)"


def _empty_turn(turn: TurnInput) -> RunResult:
    return RunResult(
        reply="",
        session_id=turn.session_id,
        error=EMPTY_TURN_ERROR,
        exit_code=EXIT_ERROR,
        partials=(),
        timed_out=False,
        stderr_tail="",
        wire="0.4",
    )


def _event_result(
    profile: Profile,
    agent: EventAgentProcess,
    returncode: int,
    notes: list[str],
    duration: float,
) -> RunResult:
    events = agent.events
    code = event_exit_code(returncode, timed_out=agent.timed_out, agent_error=events.error)
    error: str | None = events.error
    if agent.timed_out:
        error = timeout_message(profile.timeout_secs)
    elif error is None and code:
        error = failure_message(returncode)
    return RunResult(
        reply="" if agent.timed_out else events.reply,
        session_id=events.session_id,
        error=error,
        exit_code=code,
        partials=tuple(events.partials),
        timed_out=agent.timed_out,
        stderr_tail=agent.stderr_tail(),
        warnings=tuple(notes),
        duration_secs=duration,
        usage=events.usage,
        wire="0.4",
    )


def _result(
    profile: Profile,
    turn: TurnInput,
    agent: AgentProcess,
    returncode: int,
    notes: list[str],
    duration: float,
) -> RunResult:
    rules = agent.rules
    stderr_tail = agent.stderr_tail()
    code = exit_code(returncode, timed_out=agent.timed_out, agent_error=rules.error is not None)
    reply = ""
    error: str | None
    if agent.timed_out:
        error = timeout_message(profile.timeout_secs)
    elif rules.error is not None:
        error = rules.error
    else:
        reply = rules.body
        if profile.include_stderr_in_reply:
            reply = with_stderr(reply, stderr_tail)
        reply = truncate(reply, profile.max_reply_chars, profile.truncation_suffix)
        error = failure_message(returncode) if code and profile.send_error_reply else None
    return RunResult(
        reply=reply,
        session_id=rules.session_id or turn.session_id,
        error=error,
        exit_code=code,
        partials=tuple(rules.partials),
        timed_out=agent.timed_out,
        stderr_tail=stderr_tail,
        warnings=tuple(notes),
        duration_secs=duration,
    )
