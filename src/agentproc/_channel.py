"""How a running turn's context talks to the bridge: one channel per wire.

:class:`AgentContext` forwards its ``send_*`` and permission methods here; the channel
knows the wire's encoding and rules (0.1: an error is terminal, partials have no role;
0.4: events written at call time, an error is not terminal, permissions on stdin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Mapping
from typing import Any, Protocol

import trio

from agentproc._output import EventWriter, StdoutWriter
from agentproc._permission import PermissionBroker, PermissionDecision, StdinLines


class Done:
    """The awaitable a send returns once it has already happened (a thread, or wire 0.4)."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # makes this a generator, as __await__ must return an iterator


class TurnChannel(Protocol):
    def send_partial(self, text: str, role: str | None) -> Awaitable[None]: ...

    def send_error(self, text: str) -> Awaitable[None]: ...

    def send_permission_request(self, request: Mapping[str, Any]) -> None: ...

    def read_permission_response(self) -> dict[str, Any] | None: ...

    async def request_permission(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision: ...


OUTPUT_ROLES = (None, "", "output")


class Wire01Channel:
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

    def send_permission_request(self, request: Mapping[str, Any]) -> None:
        raise _no_permission_channel()

    def read_permission_response(self) -> dict[str, Any] | None:
        raise _no_permission_channel()

    async def request_permission(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision:
        raise _no_permission_channel()


def _no_permission_channel() -> RuntimeError:
    return RuntimeError(
        "this turn came in wire 0.1, which has no permission channel; the agent must decide "
        "on its own (wire 0.4 bridges offer it when the profile says permission: true)"
    )


class Wire04Channel:
    """Wire 0.4: each event is on stdout when the call returns, awaited or not.

    ``send_error`` is not terminal (the bridge drops what follows); empty texts send nothing.
    """

    def __init__(
        self,
        events: EventWriter,
        stdin: StdinLines,
        nursery: trio.Nursery,
    ) -> None:
        from agentproc import _events

        self._encode = _events
        self._events = events
        self._stdin = stdin
        self._broker = PermissionBroker(stdin, nursery)
        # Events carry no session_id of their own: an agent on the protocol's SDK writes
        # none either, and the returned AgentResult states it once, on the result.
        self._session_id = ""
        self._read_directly = False
        self._token = trio.lowlevel.current_trio_token()

    def send_partial(self, text: str, role: str | None) -> Awaitable[None]:
        if text:
            event = self._encode.partial_event(text, role, self._session_id)
            self._events.emit(self._encode.encode_event(event))
        return Done()

    def send_error(self, text: str) -> Awaitable[None]:
        if text:
            event = self._encode.error_event(text, self._session_id)
            self._events.emit(self._encode.encode_event(event))
        return Done()

    def send_permission_request(self, request: Mapping[str, Any]) -> None:
        event = self._encode.permission_request_event(request, self._session_id)
        self._events.emit(self._encode.encode_event(event))

    def read_permission_response(self) -> dict[str, Any] | None:
        from agentproc._permission import read_response

        if self._broker.started:
            raise RuntimeError(
                "this turn already waits for permission answers with request_permission(); "
                "use one way or the other"
            )
        self._read_directly = True
        return read_response(self._stdin)

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
