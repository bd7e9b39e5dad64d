"""What a handler gives back: a reply, or a user-readable error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from agentproc._errors import AgentprocError


@attrs.frozen
class AgentResult:
    """The reply of one turn, and the session id the bridge should pass to the next one.

    ``response`` is the reply text (it may be empty when everything went out through
    :meth:`AgentContext.send_partial`). In wire 0.1 a non-empty ``session_id`` is written
    as an ``AGENT_SESSION:`` line before the body; in 0.4 all three go out as one
    ``result`` event (none when all are empty). An id the wire does not allow is refused
    with a message on stderr and not written, so the bridge keeps the previous one.

    ``usage`` (0.4; ignored in 0.1) is the turn's token and cost figures, e.g.
    ``{"input_tokens": 1200, "output_tokens": 80, "cost_usd": 0.003}``.

    Example::

        return AgentResult(response=reply, session_id=new_session_id)
    """

    response: str = ""
    session_id: str = ""
    usage: Mapping[str, Any] | None = None


class ProtocolError(AgentprocError):
    """Raise from a handler to end the turn with an error the user should read.

    The SDK writes the message as one ``AGENT_ERROR:`` line (0.1) or ``error`` event (0.4;
    an empty message reads ``"unknown error"``), after any partials already sent, and the
    process exits with status 1. Raised inside a nursery of the handler, it is found in the
    exception group all the same.

    Example::

        raise ProtocolError("bad input: the message is empty")
    """
