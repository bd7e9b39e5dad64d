"""Idempotency keys of the requests that lease tasks.

A request that got no answer may still have leased tasks on the server. Sent again soon,
it carries the same ``Idempotency-Key``, so a server that honours keys (the embedded one
does) answers with what the lost answer leased instead of leasing more.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import trio

Request = tuple[str, str, int]
"""A request as keys know it: method, target and a hash of the body."""

KEY_REUSE_S = 20.0
"""A request sent again within this long after no answer reuses its key (servers
remember keys a little longer: the embedded one for 30 s)."""
MAX_UNANSWERED = 64
"""Unanswered requests remembered at most; the oldest is forgotten first."""


class IdempotencyKeys:
    """The keys of one client's unanswered leasing requests. Call on the trio thread."""

    def __init__(self) -> None:
        self._unanswered: OrderedDict[Request, tuple[str, float]] = OrderedDict()

    def key_for(self, request: Request) -> str:
        """The key of ``request``: its earlier key if it went unanswered lately, else new."""
        if self._unanswered:
            found = self._unanswered.pop(request, None)
            if found is not None and found[1] >= trio.current_time():
                return found[0]
        return uuid.uuid4().hex

    def unanswered(self, request: Request, key: str) -> None:
        """Remember that ``request``, sent with ``key``, got no answer."""
        self._unanswered[request] = (key, trio.current_time() + KEY_REUSE_S)
        while len(self._unanswered) > MAX_UNANSWERED:
            self._unanswered.popitem(last=False)
