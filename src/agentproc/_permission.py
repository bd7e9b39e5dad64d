"""Wire 0.4's permission channel, the agent's side: requests out, decisions in on stdin.

The bridge keeps the agent's stdin open after the turn line only when it enabled the
channel (``ctx.permission``); each answer is one ``permission_response`` line. Two ways to
read them, not to be mixed in one turn:

- the protocol SDK's: ``ctx.send_permission_request(dict)`` and then
  ``ctx.read_permission_response()``, which blocks until the next line (or end of file);
- ours: ``await ctx.request_permission(tool_name, input, deny_after=...)``, which sends the
  request, waits for the answer with the same ``request_id`` (answers to other requests are
  kept for their own callers) and gives a :class:`PermissionDecision`; a timeout or the end
  of stdin is a denial (:mod:`agentproc._permission_broker`, the one part that needs trio).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any, BinaryIO, Literal

import attrs


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
