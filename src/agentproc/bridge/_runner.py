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
"""

from __future__ import annotations

import inspect
import math
import os
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import trio

from agentproc.bridge._events import EventRules, Partial
from agentproc.bridge._group import end_group, group_alive
from agentproc.bridge._launch import Launch, TurnInput, describe_spawn_failure, plan_launch
from agentproc.bridge._lifeline import dies_with_this_process
from agentproc.bridge._lines import LineBuffer, OutputRules
from agentproc.bridge._permission import (
    Approver,
    PermissionAnswer,
    PermissionRequest,
    read_request,
    response_line,
    usable_request_id,
)
from agentproc.bridge._profile import Profile, Warn, note_to_stderr
from agentproc.bridge._result import (
    EXIT_ERROR,
    STDERR_TAIL_CHARS,
    RunResult,
    event_exit_code,
    exit_code,
    failure_message,
    timeout_message,
    truncate,
    with_stderr,
)

PartialCallback = Callable[[str], Awaitable[object] | object]
"""Called with each partial as it arrives; may be async (the reader waits for it)."""

DRAIN_SECS = 2.0
"""After the agent's group has ended, how long its pipes may take to reach end of file.
Only a process that left the group on purpose (``setsid``) can hold them open longer."""

_READ_BYTES = 65536
_STDERR_KEEP_BYTES = 4 * STDERR_TAIL_CHARS  # enough bytes for that many UTF-8 characters


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
            process = await trio.lowlevel.open_process(
                launch.argv,
                stdin=subprocess.PIPE if launch.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=launch.cwd,
                env={**launch.env, **tie.env},
                start_new_session=True,
            )
        except OSError as exc:
            raise describe_spawn_failure(exc, launch, profile) from None
        tie.started(process.pid)
        if profile.wire == "0.4":
            events = _EventAgentProcess(
                process, profile, launch, note, on_partial, on_stderr, on_permission
            )
            returncode = await events.run()
            duration = trio.current_time() - started
            return _event_result(profile, events, returncode, notes, duration)
        agent = _AgentProcess(process, profile, launch, note, on_partial, on_stderr)
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
    agent: _EventAgentProcess,
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
    agent: _AgentProcess,
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


class _AgentProcess:
    """One started agent: its readers, its deadline and the end of its process group."""

    def __init__(
        self,
        process: trio.Process,
        profile: Profile,
        launch: Launch,
        note: Warn,
        on_partial: PartialCallback | None,
        on_stderr: Callable[[str], object] | None,
    ) -> None:
        self.process = process
        self.profile = profile
        self.launch = launch
        self.note = note
        self.on_partial = on_partial
        self.on_stderr = on_stderr
        self.rules = OutputRules(
            streaming=profile.streaming, warn=note, keep_body_chars=profile.max_reply_chars
        )
        self.timed_out = False
        self._stderr = bytearray()

    async def run(self) -> int:
        """Run the turn to its end; returns the process's ``returncode``."""
        pgid = self.process.pid  # start_new_session: the agent leads its own group
        try:
            async with trio.open_nursery() as nursery:
                stdout_done, stderr_done = trio.Event(), trio.Event()
                nursery.start_soon(self._read_stdout, stdout_done)
                nursery.start_soon(self._read_stderr, stderr_done)
                self._start_stdin(nursery)
                with trio.move_on_after(self.profile.timeout_secs) as deadline:
                    await self.process.wait()
                if deadline.cancelled_caught:
                    self.timed_out = True
                    await self._on_timeout()
                    await end_group(pgid, self.profile.kill_grace_secs)
                    await self.process.wait()
                elif group_alive(pgid):  # the agent left processes behind
                    await end_group(pgid, self.profile.kill_grace_secs)
                with trio.move_on_after(DRAIN_SECS):
                    await stdout_done.wait()
                    await stderr_done.wait()
                if not (stdout_done.is_set() and stderr_done.is_set()):
                    self.note(
                        f"stopped reading the agent's output {DRAIN_SECS:g} s after its "
                        "process group ended: a process that left the group still holds "
                        "stdout or stderr open, or on_partial has not returned"
                    )
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self._end(pgid)
        returncode = self.process.returncode
        assert returncode is not None  # _end has reaped it
        return returncode

    def _start_stdin(self, nursery: trio.Nursery) -> None:
        if self.launch.stdin is not None:
            nursery.start_soon(self._write_stdin, self.launch.stdin)

    async def _on_timeout(self) -> None:
        self.rules.stop()

    async def _end(self, pgid: int) -> None:
        if self.process.returncode is None or group_alive(pgid):
            await end_group(pgid, self.profile.kill_grace_secs)
            await self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                await stream.aclose()

    async def _read_stdout(self, done: trio.Event) -> None:
        stream = self.process.stdout
        assert stream is not None
        lines = LineBuffer(self.note)
        while chunk := await stream.receive_some(_READ_BYTES):
            for line in lines.feed(chunk):
                await self._line(line)
        for line in lines.close():
            await self._line(line)
        done.set()

    async def _line(self, line: str) -> None:
        partial = self.rules.feed(line)
        if partial is not None and self.on_partial is not None:
            delivered = self.on_partial(partial)
            if inspect.isawaitable(delivered):
                await delivered

    async def _read_stderr(self, done: trio.Event) -> None:
        stream = self.process.stderr
        assert stream is not None
        lines = LineBuffer(self.note) if self.on_stderr is not None else None
        while chunk := await stream.receive_some(_READ_BYTES):
            self._stderr += chunk
            if len(self._stderr) > 2 * _STDERR_KEEP_BYTES:
                del self._stderr[:-_STDERR_KEEP_BYTES]
            if lines is not None and self.on_stderr is not None:
                for line in lines.feed(chunk):
                    self.on_stderr(line)
        if lines is not None and self.on_stderr is not None:
            for line in lines.close():
                self.on_stderr(line)
        done.set()

    async def _write_stdin(self, data: bytes) -> None:
        stream = self.process.stdin
        assert stream is not None
        try:
            await stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the agent exited or closed stdin without reading it all: its choice
        finally:
            await stream.aclose()

    def stderr_tail(self) -> str:
        text = self._stderr.decode("utf-8", "replace")
        return text[-STDERR_TAIL_CHARS:]


class _EventAgentProcess(_AgentProcess):
    """A wire-0.4 agent: the turn line on stdin, events on stdout, permission answers."""

    def __init__(
        self,
        process: trio.Process,
        profile: Profile,
        launch: Launch,
        note: Warn,
        on_partial: PartialCallback | None,
        on_stderr: Callable[[str], object] | None,
        approver: Approver | None,
    ) -> None:
        super().__init__(process, profile, launch, note, on_partial, on_stderr)
        self.approver = approver
        self.events = EventRules(streaming=self.profile.streaming, warn=self.note)
        self._pending: set[str] = set()
        self._stdin_lock = trio.Lock()
        self._stdin_closed = False
        self._requests: trio.MemorySendChannel[PermissionRequest] | None = None

    def _start_stdin(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._send_turn)
        if self.launch.keep_stdin_open:
            send, receive = trio.open_memory_channel[PermissionRequest](math.inf)
            self._requests = send
            nursery.start_soon(self._answer_in_order, receive)

    async def _send_turn(self) -> None:
        assert self.launch.stdin is not None
        await self._write(self.launch.stdin)
        if not self.launch.keep_stdin_open:
            await self._close_stdin()

    async def _write(self, data: bytes) -> bool:
        stream = self.process.stdin
        async with self._stdin_lock:
            if stream is None or self._stdin_closed:
                return False
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return False  # the agent exited or closed stdin: its choice
            return True

    async def _close_stdin(self) -> None:
        async with self._stdin_lock:
            if not self._stdin_closed and self.process.stdin is not None:
                self._stdin_closed = True
                await self.process.stdin.aclose()

    async def _on_timeout(self) -> None:
        self.events.stop()
        for request_id in sorted(self._pending):
            await self._respond(request_id, PermissionAnswer.deny("permission timed out"))
        await self._close_stdin()

    async def _line(self, line: str) -> None:
        had_error = self.events.error is not None
        event = self.events.feed(line)
        if self.events.error is not None and not had_error:
            self._pending.clear()  # an error cancels pending requests
        if event is None:
            return
        if event.kind == "partial":
            await self._deliver(Partial(event.text, event.role))
        elif event.kind == "permission_request":
            await self._permission_request(event.raw, line)

    async def _deliver(self, partial: Partial) -> None:
        if self.on_partial is not None:
            delivered = self.on_partial(partial)
            if inspect.isawaitable(delivered):
                await delivered

    async def _permission_request(self, raw: dict[str, Any], line: str) -> None:
        if not self.profile.permission:
            self.note(
                "ignored a permission_request: the profile did not enable the permission "
                "channel (permission: true); the agent gets no answer"
            )
            return
        if self.events.error is not None:
            return  # the turn has failed: nothing more is asked
        request = read_request(raw)
        if request is None:
            self.note(f"malformed permission_request: {line[:200]!r}")
            request_id = usable_request_id(raw)
            if request_id is not None:
                await self._respond(
                    request_id, PermissionAnswer.deny("malformed permission request")
                )
            return
        self._pending.add(request.request_id)
        assert self._requests is not None
        self._requests.send_nowait(request)

    async def _answer_in_order(
        self, requests: trio.MemoryReceiveChannel[PermissionRequest]
    ) -> None:
        async for request in requests:
            answer = await self._decide(request)
            if answer is not None and request.request_id in self._pending:
                await self._respond(request.request_id, answer)

    async def _decide(self, request: PermissionRequest) -> PermissionAnswer | None:
        if self.approver is None:
            return None
        try:
            answer: object = self.approver(request)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            self.note(
                f"the permission approver failed ({exc!r}); request {request.request_id} denied"
            )
            return PermissionAnswer.deny("permission handler error")
        if answer is None or isinstance(answer, PermissionAnswer):
            return answer
        self.note(f"the permission approver returned {type(answer).__name__}; denied")
        return PermissionAnswer.deny("permission handler error")

    async def _respond(self, request_id: str, answer: PermissionAnswer) -> None:
        self._pending.discard(request_id)
        await self._write(response_line(request_id, answer))
