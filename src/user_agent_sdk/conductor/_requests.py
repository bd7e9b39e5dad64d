"""A request to the task server through a :class:`~user_agent_sdk.transport.Sender`,
answered as a :class:`~._reply.Reply` or :class:`~._errors.ServerUnavailable`."""

from __future__ import annotations

from collections.abc import Sequence

from ..transport import NoAnswer, Sender
from ._errors import ServerUnavailable
from ._reply import Reply


async def request(
    sender: Sender,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    limit_s: float,
) -> Reply:
    """The answer to one request; :class:`ServerUnavailable` when none came."""
    try:
        answer = await sender.send(method, url, headers, body, limit_s)
    except NoAnswer as exc:
        raise ServerUnavailable(str(exc)) from None
    return Reply(answer.method, answer.url, answer.status, answer.body)
