"""The input of a turn: ``AGENT_*`` environment variables -> an attrs ``AgentContext``.

Each variable is a plain string but two: ``AGENT_STREAMING`` (a flag) and
``AGENT_ATTACHMENTS`` (JSON, structured by the cattrs converter in
:mod:`agentproc._attachments`); the classes stay plain data.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

import attrs
import trio

from agentproc._output import StdoutWriter

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


class _Done:
    """The awaitable a send from a worker thread returns: the send has already happened."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # makes this a generator, as __await__ must return an iterator


@attrs.frozen
class AgentContext:
    """Everything the bridge told the agent about this turn, and the way to answer early.

    Fields and their values when the variable is unset:
    ``message`` (``AGENT_MESSAGE``, ``""``), ``session_id`` (``AGENT_SESSION_ID``, ``""``
    = new session), ``session_name`` (``AGENT_SESSION_NAME``, ``"default"``), ``from_user``
    (``AGENT_FROM_USER``, ``""``), ``streaming`` (``AGENT_STREAMING`` is not ``"0"``,
    ``True``), ``protocol_version`` (``AGENT_PROTOCOL_VERSION``, ``"0.1"``), ``image_url``
    and ``file_url`` (``AGENT_IMAGE_URL``, ``AGENT_FILE_URL``, ``""``) and ``attachments``
    (parsed ``AGENT_ATTACHMENTS``; ``[]`` when unset or unparseable, entries without a type
    or url skipped).

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
    attachments: list[Attachment] = attrs.Factory(list)
    _writer: StdoutWriter | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False, alias="_writer"
    )

    def send_partial(self, text: str) -> Awaitable[None]:
        """Send ``text`` to the user now, as one ``AGENT_PARTIAL:`` line.

        In an async handler, ``await`` it: it returns once the line is on stdout. If the
        await is cancelled, the line is written in full or not at all. In a sync handler
        (which runs in a worker thread) call it without ``await``: it blocks until the
        line is written. Empty text sends nothing; after :meth:`send_error` nothing is sent.
        The bridge ignores partials when ``streaming`` is off.
        """
        writer = self._running_writer("send_partial")
        if trio.lowlevel.in_trio_run():
            return writer.send_partial(text)
        writer.call_from_thread(writer.send_partial, text)
        return _Done()

    def send_error(self, text: str) -> Awaitable[None]:
        """End the turn with ``text`` as the user-readable error (one ``AGENT_ERROR:`` line).

        Terminal: nothing is written after it, the handler's return value is discarded,
        and the process exits with status 1. The handler keeps running until it returns,
        so return (or raise) right after. Awaiting and cancellation work as for
        :meth:`send_partial`.
        """
        writer = self._running_writer("send_error")
        if trio.lowlevel.in_trio_run():
            return writer.send_error(text)
        writer.call_from_thread(writer.send_error, text)
        return _Done()

    def _running_writer(self, method: str) -> StdoutWriter:
        if self._writer is None:
            raise RuntimeError(
                f"AgentContext.{method}() needs a running turn, and this context was made by "
                "hand; run the handler with agentproc.testing.run_handler(handler, ctx) "
                "to see what it sends"
            )
        return self._writer


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
