"""Reading an agent's stdout as wire 0.1 says, a line at a time, so partials go out live.

:class:`LineBuffer` frames bytes into lines (at ``\\n`` only); :class:`OutputRules` applies
the spec's rules to each line:

1. ``AGENT_SESSION:<id>`` declares the session; the last *valid* id wins, an invalid one
   is ignored with a warning. Honoured in every state, even after an error.
2. ``AGENT_PARTIAL:<json string>`` is a chunk to forward now (ignored when streaming is
   off, after an error, and once the turn has been stopped).
3. ``AGENT_ERROR:<json string>`` marks the turn failed; later partials and the whole
   reply body are discarded.

Every other line is reply body, kept exactly as sent: a line that an agent escaped with a
leading space (see :mod:`agentproc._wire`) keeps it, and indentation is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from agentproc._session_id import explain_invalid_session_id, normalize_session_id
from agentproc._wire import ERROR_PREFIX, PARTIAL_PREFIX, SESSION_PREFIX

MAX_LINE_BYTES = 8 * 1024 * 1024
"""A longer line is cut here (with a warning), so one endless line cannot exhaust memory."""


def decode_payload(raw: str) -> tuple[str, bool]:
    """The text of a PARTIAL or ERROR payload and whether it was valid JSON.

    Empty -> ``""``; a JSON string -> the decoded string; other JSON, or text that is not
    JSON -> ``raw`` as it is (the spec's lenient rule).
    """
    if not raw:
        return "", True
    try:
        value = json.loads(raw)
    except ValueError:
        return raw, False
    return (value if isinstance(value, str) else raw), True


class LineBuffer:
    """Splits a byte stream into lines at ``\\n``; the newline is not part of the line."""

    def __init__(self, warn: Callable[[str], None], max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending = bytearray()
        self._skipping = False
        self._warn = warn
        self._max = max_line_bytes

    def feed(self, chunk: bytes | bytearray) -> list[str]:
        """The lines that ``chunk`` completes, decoded as UTF-8 (bad bytes replaced)."""
        lines: list[str] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if not self._skipping:
                self._pending += chunk[start:] if end == -1 else chunk[start:end]
                if len(self._pending) > self._max:
                    self._warn(f"a stdout line longer than {self._max} bytes was cut there")
                    del self._pending[self._max :]
                    lines.append(self._take())
                    self._skipping = True  # the rest of that line, up to its newline
            if end == -1:
                return lines
            if self._skipping:
                self._skipping = False
            else:
                lines.append(self._take())
            start = end + 1

    def close(self) -> list[str]:
        """The last line, when the stream ended without a newline."""
        if self._skipping or not self._pending:
            return []
        return [self._take()]

    def _take(self) -> str:
        line = self._pending.decode("utf-8", "replace")
        self._pending.clear()
        return line


class OutputRules:
    """What one turn's stdout says so far: session, partials, error and body.

    ``keep_body_chars`` bounds the memory the body may take: once more body text has
    arrived than a reply of that many characters can show, the rest is dropped (the reply
    is truncated anyway) and :attr:`body_overflowed` is set.
    """

    def __init__(
        self,
        *,
        streaming: bool,
        warn: Callable[[str], None],
        keep_body_chars: int | None = None,
    ) -> None:
        self._streaming = streaming
        self._warn = warn
        # Past the limit (and a newline) the reply is truncated anyway.
        self._body_budget = None if keep_body_chars is None else keep_body_chars + 1
        self._body: list[str] = []
        self._body_size = 0
        self._stopped = False
        self.session_id = ""
        """The last valid declared session id; ``""`` while none was declared."""
        self.error: str | None = None
        """The text of the first ``AGENT_ERROR:`` line, or None."""
        self.partials: list[str] = []
        """Every partial delivered, in order."""
        self.body_overflowed = False

    def feed(self, line: str) -> str | None:
        """Apply the rules to one line; returns a partial to deliver now, or None."""
        if line.startswith(SESSION_PREFIX):
            self._declare(line[len(SESSION_PREFIX) :])
            return None
        if self.error is not None or self._stopped:
            return None  # the reply is over: only session lines still count
        if line.startswith(PARTIAL_PREFIX):
            if not self._streaming:
                return None
            text = self._payload("AGENT_PARTIAL", line[len(PARTIAL_PREFIX) :])
            self.partials.append(text)
            return text
        if line.startswith(ERROR_PREFIX):
            self.error = self._payload("AGENT_ERROR", line[len(ERROR_PREFIX) :])
            self._body.clear()
            return None
        self._add_body(line)
        return None

    def stop(self) -> None:
        """The turn has timed out: from now on, only session lines count."""
        self._stopped = True

    @property
    def body(self) -> str:
        """The reply body so far: body lines joined with ``\\n``, as sent."""
        return "\n".join(self._body)

    def _declare(self, raw: str) -> None:
        session_id = normalize_session_id(raw)
        if session_id is None:
            self._warn(
                f"ignored AGENT_SESSION:{raw[:80]!r}: {explain_invalid_session_id(raw)}; "
                "the session id stays as it was"
            )
        else:
            self.session_id = session_id

    def _payload(self, kind: str, raw: str) -> str:
        text, was_json = decode_payload(raw)
        if not was_json:
            self._warn(f"{kind} payload is not JSON; passed on as raw text: {raw[:80]!r}")
        return text

    def _add_body(self, line: str) -> None:
        if self._body_budget is not None and self._body_size > self._body_budget:
            self.body_overflowed = True
            return
        self._body.append(line)
        self._body_size += len(line) + 1
