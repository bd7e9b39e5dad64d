"""The input of a turn -> an attrs ``AgentContext``: ``AGENT_*`` variables (wire 0.1) or
the stdin turn line (wire 0.4, see :func:`context_from_turn_line`).

Each 0.1 variable is a plain string but two: ``AGENT_STREAMING`` (a flag) and
``AGENT_ATTACHMENTS`` (JSON, structured by the cattrs converter in
:mod:`agentproc._attachments`); the classes stay plain data.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from agentproc._event_channel import TurnChannel
    from agentproc._permission import PermissionDecision

PROTOCOL_VERSION = "0.1"
"""The wire version this SDK speaks; compare versions for equality only, never order."""


@attrs.frozen
class Attachment:
    """One attachment of the user's message, from ``AGENT_ATTACHMENTS`` (draft).

    ``type`` is usually ``image``, ``file``, ``audio`` or ``video``; other types are kept,
    so check the type and skip what you do not know.
    """

    type: str
    url: str
    name: str = ""


Wire = Literal["0.1", "0.4"]


@attrs.frozen
class AgentContext:
    """Everything the bridge told the agent about this turn, and the way to answer early.

    ``wire`` is the protocol the turn came in, and the one the answer goes out in:
    ``"0.1"`` (``AGENT_*`` variables) or ``"0.4"`` (one JSON turn line on stdin).

    Fields and their values when the bridge did not set them (0.1 variable / 0.4 turn key):
    ``message`` (``AGENT_MESSAGE`` / ``message``, ``""``), ``session_id``
    (``AGENT_SESSION_ID`` / ``session_id``, ``""`` = new session), ``session_name``
    (``AGENT_SESSION_NAME`` / ``session_name``, ``"default"``), ``protocol_version``
    (``AGENT_PROTOCOL_VERSION`` / ``protocol_version``, ``"0.1"`` / ``"0.4"``; compare for
    equality only) and ``attachments``: in 0.1 :class:`Attachment` objects parsed from
    ``AGENT_ATTACHMENTS`` (``[]`` when unset or unparseable, entries without a type or url
    skipped); in 0.4 the turn's entries as sent, usually dicts ``{"kind", "url", ...}``.

    0.1 only: ``from_user`` (``AGENT_FROM_USER``), ``streaming`` (``AGENT_STREAMING`` is
    not ``"0"``), ``image_url`` and ``file_url`` (``AGENT_IMAGE_URL``, ``AGENT_FILE_URL``);
    in 0.4 they keep their defaults. 0.4 only: ``permission`` (True when the bridge opened
    the permission channel).

    A context made by hand, e.g. ``AgentContext(message="hi")``, has the same defaults; its
    ``send_*`` methods work once :func:`agentproc.testing.run_handler` runs it.
    """

    message: str = ""
    session_id: str = ""
    session_name: str = "default"
    from_user: str = ""
    streaming: bool = True
    protocol_version: str = PROTOCOL_VERSION
    image_url: str = ""
    file_url: str = ""
    attachments: list[Any] = attrs.Factory(list)
    permission: bool = False
    wire: Wire = "0.1"
    _channel: TurnChannel | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False, alias="_channel"
    )

    def send_partial(self, text: str, role: str | None = None) -> Awaitable[None]:
        """Send ``text`` to the user now, as one partial.

        In an async handler, ``await`` it; in a sync handler (which runs in a worker
        thread) call it without ``await``: either way it returns once the line is on stdout.
        Empty text sends nothing.

        - 0.1: one ``AGENT_PARTIAL:`` line; nothing after :meth:`send_error`. If the await
          is cancelled, the line is written in full or not at all. ``role`` other than
          ``"output"`` (e.g. ``"thinking"``) is not sent: 0.1 could only show it as reply.
        - 0.4: one ``partial`` event, with ``role`` when given (``"output"``,
          ``"thinking"``); written at call time, so a bare call in an async handler works.
        """
        return self._running("send_partial").send_partial(text, role)

    def send_error(self, text: str) -> Awaitable[None]:
        """Tell the user ``text`` as the turn's error.

        - 0.1: one ``AGENT_ERROR:`` line, terminal: nothing is written after it, the
          handler's return value is discarded and the process exits with status 1.
        - 0.4: one ``error`` event (empty text sends nothing), **not** terminal: later
          partials and the returned reply are still written, and the bridge drops them; the
          exit status is the handler's. To end the turn, raise :class:`ProtocolError`.
        """
        return self._running("send_error").send_error(text)

    def send_permission_request(self, request: Mapping[str, Any]) -> Awaitable[None]:
        """Ask the bridge to approve a tool call (0.4, when :attr:`permission` is True).

        ``request`` holds ``request_id`` (unique in the turn, no whitespace), ``tool_name``
        and ``input`` (an object), optionally ``description`` and ``tool_use_id``. Written
        at call time; read the answer with :meth:`read_permission_response`. Raises
        ``RuntimeError`` when the channel is off, ``ValueError`` naming a bad field.
        """
        channel = self._running("send_permission_request")
        self._require_permission("send_permission_request")
        channel.send_permission_request(request)
        return _done()

    def read_permission_response(self) -> dict[str, Any] | None:
        """The next line the bridge wrote on stdin, as a dict (0.4).

        Blocks until it arrives; None at end of file or for a line that is not a JSON
        object. Without the permission channel the bridge has closed stdin: None at once.
        """
        return self._running("read_permission_response").read_permission_response()

    async def request_permission(
        self,
        tool_name: str,
        tool_input: Mapping[str, Any] | None = None,
        *,
        description: str | None = None,
        tool_use_id: str | None = None,
        deny_after: float | None = None,
    ) -> PermissionDecision:
        """Ask for approval and wait for the answer (0.4; our addition to the protocol SDK).

        Sends a ``permission_request`` with a fresh ``request_id`` and returns the
        bridge's :class:`PermissionDecision`. When ``deny_after`` seconds pass first, or stdin
        ends, the decision is a denial. Several requests may wait at once. Raises
        ``RuntimeError`` when :attr:`permission` is False.

        Example::

            decision = await ctx.request_permission("Bash", {"command": "ls"}, deny_after=60)
            if decision.allowed:
                run(decision.updated_input or {"command": "ls"})
        """
        channel = self._running("request_permission")
        self._require_permission("request_permission")
        request: dict[str, Any] = {"tool_name": tool_name, "input": dict(tool_input or {})}
        if description is not None:
            request["description"] = description
        if tool_use_id is not None:
            request["tool_use_id"] = tool_use_id
        return await channel.request_permission(request, deny_after)

    def _require_permission(self, method: str) -> None:
        if not self.permission:
            raise RuntimeError(
                f"AgentContext.{method}() needs the permission channel, and the bridge did "
                "not open it for this turn: set permission: true in the profile (wire 0.4)"
            )

    def _running(self, method: str) -> TurnChannel:
        if self._channel is None:
            raise RuntimeError(
                f"AgentContext.{method}() needs a running turn, and this context was made by "
                "hand; run the handler with agentproc.testing.run_handler(handler, ctx) "
                "to see what it sends"
            )
        return self._channel


def _done() -> Awaitable[None]:
    from agentproc._event_channel import Done

    return Done()


def _note(message: str) -> None:
    print(f"agentproc: {message}", file=sys.stderr)


def _streaming_flag(value: str) -> bool:
    return value.strip() != "0"


def context_from_env(env: Mapping[str, str], warn: Callable[[str], None] = _note) -> AgentContext:
    """The :class:`AgentContext` that the ``AGENT_*`` variables in ``env`` describe.

    Never fails: unset variables take the spec's defaults (a variable set to ``""`` stays
    ``""``) and a bad ``AGENT_ATTACHMENTS`` gives fewer attachments, each problem reported
    through ``warn``.
    """
    # Every variable but one is a plain string; only the JSON list needs a converter, and
    # its module (json, cattrs) loads only when the turn has attachments (cold start).
    raw_attachments = env.get("AGENT_ATTACHMENTS", "")
    attachments: list[Attachment] = []
    if raw_attachments.strip():
        from agentproc._attachments import parse_attachments

        attachments = parse_attachments(raw_attachments, warn)
    return AgentContext(
        message=env.get("AGENT_MESSAGE", ""),
        session_id=env.get("AGENT_SESSION_ID", ""),
        session_name=env.get("AGENT_SESSION_NAME", "default"),
        from_user=env.get("AGENT_FROM_USER", ""),
        streaming=_streaming_flag(env.get("AGENT_STREAMING", "1")),
        protocol_version=env.get("AGENT_PROTOCOL_VERSION", PROTOCOL_VERSION),
        image_url=env.get("AGENT_IMAGE_URL", ""),
        file_url=env.get("AGENT_FILE_URL", ""),
        attachments=attachments,
    )


PROTOCOL_VARIABLES = (
    "AGENT_MESSAGE",
    "AGENT_SESSION_ID",
    "AGENT_SESSION_NAME",
    "AGENT_FROM_USER",
    "AGENT_STREAMING",
    "AGENT_PROTOCOL_VERSION",
    "AGENT_IMAGE_URL",
    "AGENT_FILE_URL",
    "AGENT_ATTACHMENTS",
)
"""The variables a wire-0.1 bridge sets; a 0.4 bridge sets none of them."""


def wire_of(env: Mapping[str, str]) -> Wire:
    """The wire a turn comes in: 0.1 when any ``AGENT_*`` protocol variable is set, else 0.4."""
    return "0.1" if any(name in env for name in PROTOCOL_VARIABLES) else "0.4"


def context_from_turn_line(line: bytes, warn: Callable[[str], None] = _note) -> AgentContext:
    """The :class:`AgentContext` of a wire-0.4 turn line (``b""`` when stdin was empty).

    Never fails: a line that is missing or not a JSON object gives the defaults (and a
    warning); a field of the wrong JSON type takes its default.
    """
    from agentproc._events import parse_object_line, turn_fields

    turn = parse_object_line(line) if line else None
    if turn is None:
        shown = "stdin was empty" if not line.strip() else "the stdin line is not a JSON object"
        warn(f"no turn: {shown}; running the handler with an empty turn")
        turn = {}
    return AgentContext(wire="0.4", **turn_fields(turn, warn))
