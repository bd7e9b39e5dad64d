"""What a server offers for posting results, learnt once per server and shared.

Three routes, best first: ``update-batch`` (our server's extension: many results and
the next tasks in one request), ``update-v2`` (Conductor's: one result and the next task),
and a plain update (one result; the next task takes a poll). A :class:`Flavour` says
which routes a kind of server may offer; a server that turns out not to have one (it
answers 404 or 405) is moved down a step by the first such answer, once, for every user
of the client. The answers to requests already in flight when that happens change
nothing more.
"""

from __future__ import annotations

import enum
import logging

log = logging.getLogger("user_agent_sdk.conductor")


class ResultRoute(enum.IntEnum):
    """How results reach the server, worst to best."""

    PLAIN_UPDATE = 0
    """``POST /tasks``, one result per request; the next task takes a poll."""
    UPDATE_V2 = 1
    """``POST /tasks/update-v2``: one result, answered with the next task."""
    UPDATE_BATCH = 2
    """``POST /tasks/update-batch/{type}``: many results, answered with the next tasks."""


_NAMES = {
    ResultRoute.PLAIN_UPDATE: "plain updates",
    ResultRoute.UPDATE_V2: "update-v2",
    ResultRoute.UPDATE_BATCH: "update-batch",
}


class DeliveryCapability:
    """The best route a server is still believed to offer (:attr:`best`).

    It starts at the best of the routes its flavour may offer and only moves down, each
    step once (:meth:`lacks`).
    """

    __slots__ = ("_offered", "_server", "best")

    def __init__(self, server: str, *, update_v2: bool, update_batch: bool) -> None:
        """``server``: its URL, for the log; ``update_v2``, ``update_batch``: whether the
        kind of server may have those routes (a plain update it always has)."""
        offered = {ResultRoute.PLAIN_UPDATE}
        if update_v2:
            offered.add(ResultRoute.UPDATE_V2)
        if update_batch:
            offered.add(ResultRoute.UPDATE_BATCH)
        self._offered = frozenset(offered)
        self._server = server
        self.best = max(self._offered)

    def offers(self, route: ResultRoute) -> bool:
        """Whether ``route`` may still be tried (it has not been found missing)."""
        return route <= self.best and route in self._offered

    def lacks(self, route: ResultRoute, status: int) -> None:
        """The server answered ``status`` (404, 405) to ``route``: it has no such endpoint.

        The first such answer moves :attr:`best` below ``route`` and logs it; later ones
        (requests that were already under way) change nothing.
        """
        if route > self.best:
            return
        below = [offered for offered in self._offered if offered < route]
        self.best = max(below, default=ResultRoute.PLAIN_UPDATE)
        log.info(
            "%s has no %s (it answered %d); results go by %s from now on",
            self._server,
            _NAMES[route],
            status,
            _NAMES[self.best],
        )
