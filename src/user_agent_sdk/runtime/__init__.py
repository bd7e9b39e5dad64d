"""The worker runtime: agents served from a trio nursery tree.

Start it inside a trio program::

    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(serve, settings, [spec])
        ...                           # the agents are polling
        nursery.cancel_scope.cancel()  # drains: running tasks finish within the grace
"""

from ._agent import AgentStats
from ._clock import PreciseClock, run_with_precise_timers
from ._embed import running
from ._errors import NonRetryableException
from ._logs import TaskLogger
from ._observer import ExecutionObserver, ExecutionRecord
from ._refusals import AgentFailed
from ._runtime import Runtime, resolve_agents, serve

__all__ = [
    "AgentFailed",
    "AgentStats",
    "ExecutionObserver",
    "ExecutionRecord",
    "NonRetryableException",
    "PreciseClock",
    "Runtime",
    "TaskLogger",
    "resolve_agents",
    "run_with_precise_timers",
    "running",
    "serve",
]
