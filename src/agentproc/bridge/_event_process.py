"""A started wire-0.4 agent process: the turn line on stdin, NDJSON events on stdout, and
permission requests answered in the order they came."""

from __future__ import annotations

import inspect
import math
from typing import Any

import trio

from agentproc.bridge._events import EventRules, Partial
from agentproc.bridge._permission import (
    PermissionAnswer,
    PermissionRequest,
    read_request,
    response_line,
    usable_request_id,
)
from agentproc.bridge._process import AgentProcess


class EventAgentProcess(AgentProcess):
    """A wire-0.4 agent: the turn line on stdin, events on stdout, permission answers."""

    def _prepare(self) -> None:
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
        approver = self.callbacks.on_permission
        if approver is None:
            return None
        try:
            answer: object = approver(request)
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
