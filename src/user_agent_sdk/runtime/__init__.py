"""The worker runtime: agents served from a trio nursery tree.

Start it inside a trio (or asyncio) program::

    async with open_runtime(settings, [spec]) as runtime:
        ...  # the agents are polling; leaving the block drains them within the grace

or, in a nursery of the program's, ``runtime = await nursery.start(serve, settings,
[spec])``; cancelling that nursery drains it.
"""

from ._agent import AgentRunner
from ._clock import PreciseClock, run_with_precise_timers
from ._embed import open_runtime, running
from ._errors import NonRetryableException
from ._invoke import Agent
from ._logs import TaskLogger
from ._observer import ExecutionObserver, ExecutionRecord
from ._refusals import AgentFailed
from ._results import AgentStats
from ._runtime import Runtime, resolve_agents, serve

__all__ = [
    "Agent",
    "AgentFailed",
    "AgentRunner",
    "AgentStats",
    "ExecutionObserver",
    "ExecutionRecord",
    "NonRetryableException",
    "PreciseClock",
    "Runtime",
    "TaskLogger",
    "open_runtime",
    "resolve_agents",
    "run_with_precise_timers",
    "running",
    "serve",
]
