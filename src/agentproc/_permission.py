"""Wire 0.4's permission channel, the agent's side: requests out, decisions in on stdin.

The bridge keeps the agent's stdin open after the turn line only when it enabled the
channel (``ctx.permission``); each answer is one ``permission_response`` line. Two ways to
read them, not to be mixed in one turn:

- the protocol SDK's: ``ctx.send_permission_request(dict)`` and then
  ``ctx.read_permission_response()``, which blocks until the next line (or end of file);
- ours: ``await ctx.request_permission(tool_name, input, deny_after=...)``, which sends the
  request, waits for the answer with the same ``request_id`` (answers to other requests are
  kept for their own callers) and gives a :class:`PermissionDecision`; a timeout or the end
  of stdin is a denial.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Mapping
from typing import Any, BinaryIO, Literal

import attrs
import trio


@attrs.frozen
class PermissionDecision:
    """The bridge's answer to one permission request.

    ``behavior`` is ``"allow"`` or ``"deny"`` (anything else the bridge sent reads as
    ``"deny"``); ``updated_input`` is the input the approver changed, or None (then use the
    request's own input); ``message`` says why, when the bridge gave a reason.
    """

    behavior: Literal["allow", "deny"]
    request_id: str = ""
    updated_input: dict[str, Any] | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.behavior == "allow"

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> PermissionDecision:
        updated = response.get("updated_input")
        message = response.get("message")
        request_id = response.get("request_id")
        return cls(
            behavior="allow" if response.get("behavior") == "allow" else "deny",
            request_id=request_id if isinstance(request_id, str) else "",
            updated_input=updated if isinstance(updated, dict) else None,
            message=message if isinstance(message, str) else "",
        )


class StdinLines:
    """Lines of the agent's stdin, read one at a time (never to end of file).

    ``source`` is a file descriptor (a real agent: fd 0), a binary stream (tests), or None
    (no stdin: end of file at once). A descriptor is read with ``os.read`` into a buffer of
    our own, not through ``sys.stdin``: a reader thread still blocked when the process
    exits then holds no lock that the interpreter's shutdown would wait for.
    """

    def __init__(self, source: int | BinaryIO | None) -> None:
        self._source = source
        self._buffer = bytearray()
        self._eof = False
        self._lock = threading.Lock()

    def readline(self) -> bytes:
        """The next line, newline included; ``b""`` at end of file (or without stdin)."""
        with self._lock:
            if self._source is None:
                return b""
            if not isinstance(self._source, int):
                try:
                    return self._source.readline()
                except (OSError, ValueError):
                    return b""
            return self._read_line(self._source)

    def _read_line(self, fd: int) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end != -1:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if self._eof:
                rest = bytes(self._buffer)
                self._buffer.clear()
                return rest
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
            self._buffer += chunk


def read_response(lines: StdinLines) -> dict[str, Any] | None:
    """The next stdin line as a JSON object; None at end of file or for any other line."""
    from agentproc._events import parse_object_line

    line = lines.readline()
    return parse_object_line(line) if line else None


class PermissionBroker:
    """Matches ``permission_response`` lines to the requests waiting for them.

    One task (started in ``nursery`` on first use) reads stdin in a worker thread for the
    rest of the turn; each waiter takes the answer that carries its ``request_id``.
    """

    def __init__(self, lines: StdinLines, nursery: trio.Nursery) -> None:
        self._lines = lines
        self._nursery = nursery
        self._answers: dict[str, dict[str, Any]] = {}
        self._arrived = trio.Event()
        self._ended = False
        self._started = False
        self._ids = itertools.count(1)

    @property
    def started(self) -> bool:
        """True once a request waits here: stdin belongs to the broker's reader."""
        return self._started

    def new_request_id(self) -> str:
        return f"agentproc-{next(self._ids)}"

    async def wait(self, request_id: str, deny_after: float | None) -> PermissionDecision:
        """The answer to ``request_id``; a denial when ``deny_after`` seconds pass first or
        stdin ends. Cancelling the call leaves the answer, if it comes, unread."""
        if not self._started:
            self._started = True
            self._nursery.start_soon(self._read)
        with trio.move_on_after(math.inf if deny_after is None else deny_after):
            while request_id not in self._answers and not self._ended:
                await self._arrived.wait()
        answer = self._answers.pop(request_id, None)
        if answer is not None:
            return PermissionDecision.from_response(answer)
        reason = "no answer: stdin ended" if self._ended else f"no answer within {deny_after:g} s"
        return PermissionDecision(behavior="deny", request_id=request_id, message=reason)

    async def _read(self) -> None:
        from agentproc._events import parse_object_line

        while True:
            line = await trio.to_thread.run_sync(self._lines.readline, abandon_on_cancel=True)
            if not line:
                self._ended = True
            else:
                response = parse_object_line(line)
                request_id = response.get("request_id") if response else None
                if response is not None and isinstance(request_id, str):
                    self._answers[request_id] = response
            self._arrived.set()
            self._arrived = trio.Event()
            if self._ended:
                return
