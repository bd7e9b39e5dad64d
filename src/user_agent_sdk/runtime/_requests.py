"""What one agent's requests to the server (its polls and result posts) share.

The runner owns the slots and decides how many tasks there is room for; the poller and
the result delivery (:mod:`._delivery`) ask the server for tasks within that room and
hand what arrives back to the runner. :class:`AgentRequests` is everything they need of
the runner and of each other, built once per run.
"""

from __future__ import annotations

from typing import Protocol

import attrs
import trio

from ..conductor import ConductorClient, Task
from ._invoke import Agent
from ._measures import AgentMeasures
from ._pace import Pace
from ._refusals import LeaseLimit
from ._reservations import Reservations
from ._sender import ResultSender
from ._signal import Signal


class Slots(Protocol):
    """The runner's side: how many tasks to ask for, and where leased tasks go."""

    @property
    def stopping(self) -> bool: ...

    def room(self) -> int:
        """Tasks to ask for now (0 or less: none)."""
        ...

    def arrived(self, tasks: list[Task]) -> None:
        """Tasks leased to this worker (into the buffer, or back to their queue)."""
        ...


@attrs.define(eq=False)
class AgentRequests:
    """The state one agent's requests share for the length of a run."""

    agent: Agent
    client: ConductorClient
    slots: Slots
    sender: ResultSender
    """Delivers, with retries, every result that is not carried by a request that leases."""
    work: trio.Nursery
    """Where requests that outlive their caller run (the runner's work nursery)."""
    reservations: Reservations
    """Every request that may lease tasks reserves them here until it has ended."""
    lease_limit: LeaseLimit
    pace: Pace
    measures: AgentMeasures
    room_changed: Signal
    """Set when the room for tasks may have grown (the poller waits on it)."""
    scopes: set[trio.CancelScope]
    """The shielded scopes of requests in flight: an abort cancels them."""

    def shielded(self) -> trio.CancelScope:
        """A scope for one request, shielded from a stop (a request cut short may already
        have leased tasks) but not from an abort. Enter it once; discard it from
        :attr:`scopes` when the request has ended."""
        scope = trio.CancelScope(shield=True)
        self.scopes.add(scope)
        return scope
