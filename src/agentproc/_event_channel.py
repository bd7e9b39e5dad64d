"""A turn's channel to the bridge: the protocol every wire's channel follows, and the wire-0.4
event methods that need no event loop (each event is written at call time).

:class:`AgentContext` forwards its ``send_*`` and permission methods to a channel; the
trio-bound channels are in :mod:`agentproc._channel`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Mapping
from typing import Any, Protocol

from agentproc._output import EventWriter
from agentproc._permission import PermissionDecision, StdinLines, read_response


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


class EventChannel:
    """Wire 0.4's sends: each event is on stdout when the call returns, awaited or not.

    ``send_error`` is not terminal (the bridge drops what follows); empty texts send
    nothing. :meth:`request_permission` needs an event loop to wait on: here it raises
    ``RuntimeError``; :class:`agentproc._channel.Wire04Channel` waits on trio.
    """

    def __init__(self, events: EventWriter, stdin: StdinLines) -> None:
        from agentproc import _events  # json: a wire-0.1 turn never loads it

        self._encode = _events
        self._events = events
        self._stdin = stdin
        # Events carry no session_id of their own: an agent on the protocol's SDK writes
        # none either, and the returned AgentResult states it once, on the result.
        self._session_id = ""
        self._read_directly = False

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
        self._read_directly = True
        return read_response(self._stdin)

    async def request_permission(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision:
        raise _awaited_elsewhere("request_permission")

    def write_result(self, session_id: str, text: str, usage: Mapping[str, Any] | None) -> None:
        """The turn's end: one ``result`` event (none when all three are empty)."""
        event = self._encode.result_event(text, session_id, usage)
        if event is not None:
            self._events.emit(self._encode.encode_event(event))

    def write_error(self, message: str) -> None:
        """The turn's end by a ``ProtocolError``: one ``error`` event."""
        event = self._encode.error_event(message or "unknown error", "")
        self._events.emit(self._encode.encode_event(event))


class NoPermissionChannel:
    """Wire 0.1's permission methods: the wire has none, so each fails, naming why."""

    def send_permission_request(self, request: Mapping[str, Any]) -> None:
        raise no_permission_channel()

    def read_permission_response(self) -> dict[str, Any] | None:
        raise no_permission_channel()

    async def request_permission(
        self, request: dict[str, Any], deny_after: float | None
    ) -> PermissionDecision:
        raise no_permission_channel()


class Unawaited01Channel(NoPermissionChannel):
    """Wire 0.1 for a handler that never awaits: what it could send it would have to await,
    so nothing is sent, as on trio; the permission methods fail as on any 0.1 turn."""

    def send_partial(self, text: str, role: str | None) -> Awaitable[None]:
        return _unsent("send_partial")

    def send_error(self, text: str) -> Awaitable[None]:
        return _unsent("send_error")


async def _unsent(method: str) -> None:
    raise _awaited_elsewhere(method)


def _awaited_elsewhere(method: str) -> RuntimeError:
    return RuntimeError(
        f"AgentContext.{method}() was awaited outside the handler that called it, after its "
        "turn was answered; await it in the handler"
    )


def no_permission_channel() -> RuntimeError:
    return RuntimeError(
        "this turn came in wire 0.1, which has no permission channel; the agent must decide "
        "on its own (wire 0.4 bridges offer it when the profile says permission: true)"
    )
