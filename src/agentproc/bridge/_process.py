"""A started wire-0.1 agent process: its readers, its deadline and the end of its group.

:class:`AgentProcess` is what :func:`~agentproc.bridge.run_turn` drives for one turn; the
wire-0.4 agent (:class:`~agentproc.bridge._event_process.EventAgentProcess`) is the same
process with another stdin and another reading of stdout.
"""

from __future__ import annotations

import inspect
import subprocess
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import trio

from agentproc.bridge._group import end_group, group_alive
from agentproc.bridge._launch import Launch
from agentproc.bridge._lines import LineBuffer, OutputRules
from agentproc.bridge._permission import Approver
from agentproc.bridge._profile_yaml import Profile, Warn
from agentproc.bridge._result import STDERR_TAIL_CHARS

PartialCallback = Callable[[str], Awaitable[object] | object]
"""Called with each partial as it arrives; may be async (the reader waits for it)."""

DRAIN_SECS = 2.0
"""After the agent's group has ended, how long its pipes may take to reach end of file.
Only a process that left the group on purpose (``setsid``) can hold them open longer."""


class TurnCallbacks(NamedTuple):
    """Where a turn reports as it runs (each optional): see :func:`~agentproc.bridge.run_turn`."""

    on_partial: PartialCallback | None = None
    on_stderr: Callable[[str], object] | None = None
    on_permission: Approver | None = None


_READ_BYTES = 65536
_STDERR_KEEP_BYTES = 4 * STDERR_TAIL_CHARS  # enough bytes for that many UTF-8 characters


async def open_agent_process(launch: Launch, extra_env: dict[str, str]) -> trio.Process:
    """Start ``launch`` with no shell, in a new session (its own process group), with pipes
    for what the turn reads and writes; ``OSError`` when it cannot be started."""
    return await trio.lowlevel.open_process(
        launch.argv,
        stdin=subprocess.PIPE if launch.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=launch.cwd,
        env={**launch.env, **extra_env},
        start_new_session=True,
    )


class AgentProcess:
    """One started agent: its readers, its deadline and the end of its process group."""

    def __init__(
        self,
        process: trio.Process,
        profile: Profile,
        launch: Launch,
        note: Warn,
        callbacks: TurnCallbacks,
    ) -> None:
        self.process = process
        self.profile = profile
        self.launch = launch
        self.note = note
        self.callbacks = callbacks
        self.rules = OutputRules(
            streaming=profile.streaming, warn=note, keep_body_chars=profile.max_reply_chars
        )
        self.timed_out = False
        self._stderr = bytearray()
        self._prepare()

    def _prepare(self) -> None:
        """Set up what a kind of agent process needs beyond this class's state."""

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
        if partial is not None:
            await self._deliver(partial)

    async def _deliver(self, partial: str) -> None:
        """Hand ``partial`` to ``on_partial``, awaiting it when it returns an awaitable."""
        if self.callbacks.on_partial is not None:
            delivered = self.callbacks.on_partial(partial)
            if inspect.isawaitable(delivered):
                await delivered

    async def _read_stderr(self, done: trio.Event) -> None:
        stream = self.process.stderr
        assert stream is not None
        on_stderr = self.callbacks.on_stderr
        lines = LineBuffer(self.note) if on_stderr is not None else None
        while chunk := await stream.receive_some(_READ_BYTES):
            self._stderr += chunk
            if len(self._stderr) > 2 * _STDERR_KEEP_BYTES:
                del self._stderr[:-_STDERR_KEEP_BYTES]
            if lines is not None and on_stderr is not None:
                for line in lines.feed(chunk):
                    on_stderr(line)
        if lines is not None and on_stderr is not None:
            for line in lines.close():
                on_stderr(line)
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
