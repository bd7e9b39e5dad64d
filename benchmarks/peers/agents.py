"""The handler each contender runs, per workload, written the way that contender's docs say.

Every handler returns ``{"n": n}`` for input ``{"n": n}``, and the harness checks every
output. Workloads:

- ``noop``: returns at once, in each contender's cheapest form: ``async def`` for this
  project (native on trio); plain ``def`` for user-agent-sdk 0.2.0 (it runs an
  ``async def`` through ``asyncio.run`` per task) and for conductor-python (its docs
  recommend ``async def`` for I/O, but on a no-op its async runner measured ~4x slower
  and ~3x the CPU per task of its thread-pool runner here, so it gets the faster one);
- ``async-10ms``: ``async def`` awaiting a 10 ms sleep (trio's for this project, asyncio's
  for the peers);
- ``sync-10ms``: ``def`` calling ``time.sleep(0.01)``: a blocking call the runtime has to
  keep off its event loop (threads).

32 tasks at once: ``-w 32`` / ``--workers 32`` / ``thread_count=32``.
"""

from __future__ import annotations

WORKLOADS = ("noop", "async-10ms", "sync-10ms")
WORKLOAD_TITLES = {
    "noop": "(a) no-op handler",
    "async-10ms": "(b) async handler awaiting 10 ms",
    "sync-10ms": "(c) sync handler sleeping 10 ms",
}
CONCURRENCY = 32
IDEAL_10MS_TASKS_PER_S = CONCURRENCY / 0.010

# -- @user_agent(): this project and user-agent-sdk 0.2.0 --------------------------------

_USER_AGENT_BODIES = {
    ("ours", "noop"): """
@user_agent(agent_id={task_type!r})
async def handle(input_data):
    return {{"n": input_data["n"]}}
""",
    ("uas", "noop"): """
@user_agent(agent_id={task_type!r})
def handle(input_data):
    return {{"n": input_data["n"]}}
""",
    ("ours", "async-10ms"): """
import trio


@user_agent(agent_id={task_type!r})
async def handle(input_data):
    await trio.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
    ("uas", "async-10ms"): """
import asyncio


@user_agent(agent_id={task_type!r})
async def handle(input_data):
    await asyncio.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
    ("ours", "sync-10ms"): """
import time


@user_agent(agent_id={task_type!r})
def handle(input_data):
    time.sleep(0.01)
    return {{"n": input_data["n"]}}
""",
}
_USER_AGENT_BODIES["uas", "sync-10ms"] = _USER_AGENT_BODIES["ours", "sync-10ms"]


def user_agent_script(flavour: str, workload: str, task_type: str) -> str:
    """An ``agent.py`` for ``useragent run`` (``flavour``: ``ours`` or ``uas``)."""
    body = _USER_AGENT_BODIES[flavour, workload].format(task_type=task_type)
    return "from user_agent_sdk import user_agent\n" + body


# -- conductor-python 2.x: @worker_task + TaskHandler --------------------------------------

_CONDUCTOR_HANDLERS = {
    "noop": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
def handle(n: int) -> dict:
    return {{"n": n}}
""",
    "async-10ms": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
async def handle(n: int) -> dict:
    await asyncio.sleep(0.01)
    return {{"n": n}}
""",
    "sync-10ms": """
@worker_task(task_definition_name={task_type!r}, thread_count={concurrency})
def handle(n: int) -> dict:
    time.sleep(0.01)
    return {{"n": n}}
""",
}

# No `from __future__ import annotations`: conductor-python reads the handler's
# annotations at run time to map inputData onto its parameters.
_CONDUCTOR_MAIN = """
import asyncio
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.worker_task import worker_task
{handler}

if __name__ == "__main__":  # TaskHandler starts its worker processes with 'spawn'
    with TaskHandler(configuration=Configuration(), scan_for_annotated_workers=True) as handler:
        handler.start_processes()
        handler.join_processes()
"""


def conductor_script(workload: str, task_type: str) -> str:
    """A conductor-python worker program, configured by ``CONDUCTOR_*`` variables."""
    handler = _CONDUCTOR_HANDLERS[workload].format(task_type=task_type, concurrency=CONCURRENCY)
    return _CONDUCTOR_MAIN.format(handler=handler)
