"""What a handler gives back: a reply, or a user-readable error."""

from __future__ import annotations

import attrs


@attrs.frozen
class AgentResult:
    """The reply of one turn, and the session id the bridge should pass to the next one.

    ``response`` is written as the reply body (it may be empty when everything went out
    through :meth:`AgentContext.send_partial`). A non-empty ``session_id`` is written as an
    ``AGENT_SESSION:`` line before the body; an id outside the spec's charset is refused
    with a message on stderr and not written, so the bridge keeps the previous one.

    Example::

        return AgentResult(response=reply, session_id=new_session_id)
    """

    response: str = ""
    session_id: str = ""


class ProtocolError(Exception):
    """Raise from a handler to end the turn with an error the user should read.

    The SDK writes the message as one ``AGENT_ERROR:`` line (after any partials already
    sent; nothing follows it) and the process exits with status 1. Raised inside a nursery
    of the handler, it is found in the exception group all the same.

    Example::

        raise ProtocolError("bad input: the message is empty")
    """
