"""How a running turn's context talks to the bridge on trio: one channel per wire.

:class:`AgentContext` forwards its ``send_*`` and permission methods here; the channel
knows the wire's encoding and rules (0.1: an error is terminal, partials have no role;
0.4: events written at call time, an error is not terminal, permissions on stdin). The
protocol and 0.4's loop-free sends are in :mod:`agentproc._event_channel`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import trio

from agentproc._event_channel import Done, EventChannel, NoPermissionChannel
from agentproc._output import EventWriter
from agentproc._permission import PermissionDecision, StdinLines
from agentproc._permission_broker import PermissionBroker
from agentproc._stdout_writer import StdoutWriter

OUTPUT_ROLES = (None, "", "output")


class Wire01Channel(NoPermissionChannel):
    """Wire 0.1: lines go through the turn's :class:`StdoutWriter` task."""

    def __init__(self, writer: StdoutWriter) -> None:
        self._writer = writer

    def send_partial(self, text: str, role: str | None) -> Awaitable[None]:
        if role not in OUTPUT_ROLES:
            # 0.1 cannot mark a chunk as thinking; it is not reply text, so it stays out.
            return self._done_or(trio.lowlevel.checkpoint)
        return self._send(self._writer.send_partial, text)

    def send_error(self, text: str) -> Awaitable[None]:
        return self._send(self._writer.send_error, text)

    def _send(self, send: Any, text: str) -> Awaitable[None]:
        if trio.lowlevel.in_trio_run():
            result: Awaitable[None] = send(text)
            return result
        self._writer.call_from_thread(send, text)
        return Done()

    @staticmethod
    def _done_or(checkpoint: Any) -> Awaitable[None]:
        return checkpoint() if trio.lowlevel.in_trio_run() else Done()


class Wire04Channel(EventChannel):
    """Wire 0.4 in a trio run: :class:`EventChannel`'s sends, and permission answers awaited
    on trio (from an asyncio handler's thread too)."""

    def __init__(
        self,
        events: EventWriter,
        stdin: StdinLines,
        nursery: trio.Nursery,
    ) -> None:
        super().__init__(events, stdin)
        self._broker = PermissionBroker(stdin, nursery)
        self._token = trio.lowlevel.current_trio_token()

    def read_permission_response(self) -> dict[str, Any] | None:
        if self._broker.started:
            raise RuntimeError(
                "this turn already waits for permission answers with request_permission(); "
                "use one way or the other"
            )
        return super().read_permission_response()

    async def request_permission(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision:
        if not trio.lowlevel.in_trio_run():
            return await self._from_asyncio(request, deny_after)
        if self._read_directly:
            raise RuntimeError(
                "this turn already reads permission responses with "
                "read_permission_response(); use one way or the other"
            )
        request_id = self._broker.new_request_id()
        self.send_permission_request({**request, "request_id": request_id})
        return await self._broker.wait(request_id, deny_after)

    async def _from_asyncio(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision:
        # A handler on asyncio (in a worker thread): the wait happens in the turn's trio run,
        # and this loop waits for it in its executor, free to run the handler's other tasks.
        import asyncio
        import functools

        wait = functools.partial(
            trio.from_thread.run,
            self.request_permission,
            request,
            deny_after,
            trio_token=self._token,
        )
        return await asyncio.get_running_loop().run_in_executor(None, wait)
