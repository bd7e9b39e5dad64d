"""What an agent does when the server refuses one of its leasing requests (4xx).

A refused request is never sent again unchanged. Either a smaller one may succeed (the
server allows fewer tasks per request than asked: the :class:`LeaseLimit` shrinks), or
no request can (a poll for one task refused, credentials refused, a path the server does
not have): the agent stops with :class:`AgentFailed` and the process exits non-zero.
"""

from __future__ import annotations

import logging

from .._errors import UserAgentError
from ..conductor import AuthenticationError, ConductorError, RequestRejected

log = logging.getLogger("user_agent_sdk.runtime")

MAX_LEASE = 1000
"""The most tasks one request asks to lease at first: the embedded server refuses more
by default (``useragent server --max-batch``), and Conductor's own batch poll caps there
too. A server that refuses fewer teaches the agent its limit (:class:`LeaseLimit`)."""


ANSWER_BYTES = 32 * 1024 * 1024
"""About the most one answer should carry: tasks with megabytes of input each are asked
for a few at a time (the client refuses answers past 256 MiB)."""


class AgentFailed(UserAgentError):
    """An agent stopped serving: the server refuses every request it could make.

    The message names the agent, the request and the server's answer. :func:`serve
    <user_agent_sdk.runtime.serve>` raises it once the runtime has stopped (the other
    agents keep serving until then); ``useragent run`` prints it and exits 1.
    """


class LeaseLimit:
    """The most tasks one request of an agent may ask to lease, learned from refusals.

    It starts at :data:`MAX_LEASE` and only shrinks: each refused request for more than
    one task halves what was asked. The first shrink is reported as a warning with the
    request and the server's answer, later ones at debug level.
    """

    def __init__(self, agent: str, most: int = MAX_LEASE) -> None:
        self.most = most
        self._agent = agent
        self._reported = False

    def cap(self, wanted: int, task_bytes: float = 0.0) -> int:
        """``wanted``, or the limit when that is smaller; and no more than an answer of
        :data:`ANSWER_BYTES` holds of tasks of about ``task_bytes`` each (big inputs)."""
        if task_bytes > 0:
            wanted = min(wanted, max(1, int(ANSWER_BYTES / task_bytes)))
        return min(wanted, self.most)

    def refused(self, asked: int, error: ConductorError) -> bool:
        """A request leasing ``asked`` tasks was refused with ``error``: True when a smaller
        request may succeed (the limit is now under ``asked``), False when none can."""
        if not _size_may_matter(error) or asked <= 1:
            return False
        self.most = min(self.most, max(1, asked // 2))
        level = logging.DEBUG if self._reported else logging.WARNING
        log.log(
            level,
            "%s: the server refused a request for %d tasks (%s); asking for at most %d "
            "per request from now on",
            self._agent,
            asked,
            error,
            self.most,
        )
        self._reported = True
        return True


def _size_may_matter(error: ConductorError) -> bool:
    """Whether asking for fewer tasks could turn ``error`` into a success."""
    # 413 is about bytes, not tasks: a body too large is cut by bytes (see the runner).
    return isinstance(error, RequestRejected) and error.status in (400, 422)


def poll_refusal(agent: str, error: AuthenticationError | RequestRejected) -> AgentFailed:
    """The error that stops ``agent`` when a poll for one task was refused."""
    hint = ""
    if isinstance(error, AuthenticationError):
        hint = "; check the credentials (and that they may poll this agent id)"
    elif error.status in (404, 405):
        hint = "; check the server URL"
    return AgentFailed(f"{agent}: the server refuses its polls ({error}){hint}; the agent stopped")
