"""Reading an agent's stdout as wire 0.4 says: one JSON event per line, rules applied live.

:func:`classify_event` turns one line into an event or ``None`` (malformed);
:class:`EventRules` applies the turn's rules to each event as it arrives:

- **vocabulary**: ``partial``, ``result``, ``error``, ``permission_request``; anything else
  (not a JSON object, blank, no or unknown ``type``, 0.3's ``session``/``text``) is
  dropped with a warning and never becomes reply text.
- **session**: the first valid non-empty ``session_id`` on any recognised event wins (also
  on an ``error``, on partials after it, on a ``permission_request``); a later different one
  is a violation (warning); an invalid one is ignored with a warning.
- **ordering**: at most one ``result`` (later ones: warning); the first ``error`` fails the
  turn: later partials are not forwarded, later results dropped, later errors ignored.
- **body**: streaming on -> the forwarded partials, ``result.text`` only when none went
  out; streaming off -> partials ignored, ``result.text``.
- **usage**: from the kept ``result`` or ``error``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import attrs

from agentproc._session_id import explain_invalid_event_session_id, is_valid_event_session_id

EVENT_TYPES = ("partial", "result", "error", "permission_request")
USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
    "duration_ms",
    "cost_usd",
)
"""The ``usage`` keys the spec names; each is an optional number, others are ignored."""

EventKind = Literal["partial", "result", "error", "permission_request"]


class Partial(str):
    """A partial's text, as a ``str``, with its ``role`` (``None`` when the event had none).

    Callbacks written for plain text keep working; ``partial.role == "thinking"`` tells a
    chunk of reasoning from reply text.
    """

    role: str | None

    def __new__(cls, text: str, role: str | None = None) -> Partial:
        value = super().__new__(cls, text)
        value.role = role
        return value

    @property
    def is_output(self) -> bool:
        """True for reply text: no role, or ``"output"``."""
        return self.role in (None, "output")


@attrs.frozen
class Event:
    """One recognised event, its fields read leniently (wrong types take defaults)."""

    kind: EventKind
    text: str = ""
    role: str | None = None
    session_id: Any = None
    usage: dict[str, Any] | None = None
    raw: dict[str, Any] = attrs.field(factory=dict)


def clean_usage(value: object) -> dict[str, Any] | None:
    """``usage`` with the spec's keys that hold numbers; None when it is not an object."""
    if not isinstance(value, dict):
        return None
    return {
        key: number
        for key in USAGE_KEYS
        if isinstance(number := value.get(key), int | float) and not isinstance(number, bool)
    }


def classify_event(line: str) -> Event | None:
    """The event on ``line``, or None when the line is malformed."""
    text = line.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("type") not in EVENT_TYPES:
        return None
    kind: EventKind = obj["type"]
    field = "message" if kind == "error" else "text"
    value = obj.get(field)
    role = obj.get("role") if kind == "partial" else None
    return Event(
        kind=kind,
        text=value if isinstance(value, str) else "",
        role=role if isinstance(role, str) else None,
        session_id=obj.get("session_id"),
        usage=clean_usage(obj.get("usage")) if kind in ("result", "error") else None,
        raw=obj,
    )


class EventRules:
    """What one turn's events say so far: session, partials, result, error, usage."""

    def __init__(self, *, streaming: bool, warn: Callable[[str], None]) -> None:
        self._streaming = streaming
        self._warn = warn
        self._stopped = False
        self.session_id = ""
        """The first valid session id an event carried; ``""`` while there is none."""
        self.partials: list[Partial] = []
        """Every partial forwarded, in order."""
        self.result_text: str | None = None
        self.error: str | None = None
        self.usage: dict[str, Any] | None = None

    def stop(self) -> None:
        """The turn has timed out: nothing more is forwarded."""
        self._stopped = True

    @property
    def reply(self) -> str:
        """The reply body: ``""`` when partials carried it, else ``result.text``."""
        if self.error is not None or (self._streaming and self.partials):
            return ""
        return self.result_text or ""

    def feed(self, line: str) -> Event | None:
        """Apply the rules to one line; returns the event to act on now, or None.

        A returned ``partial`` is to be forwarded; a returned ``permission_request`` is
        to be answered. Everything else only updates the state.
        """
        event = classify_event(line)
        if event is None:
            self._warn(f"ignored a stdout line that is not a wire-0.4 event: {line[:200]!r}")
            return None
        if event.kind == "permission_request":
            self._note_session(event.raw.get("session_id"))
            return None if self._stopped else event
        self._note_session(event.session_id)
        if self._stopped:
            return None
        if event.kind == "partial":
            return self._partial(event)
        if event.kind == "result":
            self._result(event)
        else:
            self._error(event)
        return None

    def _partial(self, event: Event) -> Event | None:
        if self.error is not None or not self._streaming:
            return None
        self.partials.append(Partial(event.text, event.role))
        return event

    def _result(self, event: Event) -> None:
        if self.error is not None:
            return  # a failed turn has no reply
        if self.result_text is not None:
            self._warn('ignored a second "result" event: a turn has at most one')
            return
        self.result_text = event.text
        self.usage = event.usage

    def _error(self, event: Event) -> None:
        if self.error is not None:
            return  # the first error is the turn's
        self.error = event.text
        if event.usage is not None:
            self.usage = event.usage

    def _note_session(self, value: object) -> None:
        if value is None or value == "":
            return
        if not is_valid_event_session_id(value):
            shown = value if isinstance(value, str) else repr(value)
            reason = (
                explain_invalid_event_session_id(shown)
                if isinstance(value, str)
                else "it is not a string"
            )
            self._warn(f"ignored session_id {shown!r}: {reason}; the session id stays as it was")
            return
        assert isinstance(value, str)
        if not self.session_id:
            self.session_id = value
        elif value != self.session_id:
            self._warn(
                f"ignored session_id {value!r}: the turn already declared "
                f"{self.session_id!r}, and the first one wins"
            )


def partial_text(partials: list[Partial], role: str = "output") -> list[str]:
    """The texts of the partials of one kind: ``"output"`` (reply text) or another role."""
    if role == "output":
        return [str(p) for p in partials if p.is_output]
    return [str(p) for p in partials if p.role == role]
