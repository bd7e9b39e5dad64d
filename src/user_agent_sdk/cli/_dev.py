"""``useragent dev AGENT.py``: ``useragent run`` that restarts when the code changes.

With ``--profile PROFILE.yaml`` the profile and the files beside it are watched.

The agent runs as a ``useragent run`` child process, so every restart loads the script
and the modules beside it afresh. When the script or a file beside it changes, the
child gets SIGTERM and drains as on shutdown (running tasks finish, tasks it had not
started go back to the server), then a new child with the new code takes over; the
server keeps the tasks that arrive in between. The child has its own session, so a
Ctrl-C in the terminal reaches it once, through this process, with the meaning it has
for ``useragent run``: drain, and a second one quits at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

import trio

from agentproc.bridge import dies_with_this_process

from ..config import ConfigError
from . import _run
from ._parser import Flag, add_run_arguments
from ._watch import Snapshot, Watcher

log = logging.getLogger("user_agent_sdk.cli")

_CHILD_SETTLE_S = 10.0
"""Beyond ``--grace``: time for the child to end its agents' groups and exit, should this
process die, before it gets SIGKILL."""


def run(args: argparse.Namespace) -> int:
    _run.configure_logging(args)
    try:
        # Mistakes show once, now, rather than at every restart of the child.
        script = _run.check_arguments(args)
    except (ConfigError, _run.ScriptError) as exc:
        print(f"useragent dev: {exc}", file=sys.stderr)
        return _run.EXIT_USAGE
    if not script.is_file():
        print(f"useragent dev: {script}: no such file", file=sys.stderr)
        return _run.EXIT_USAGE
    command = [sys.executable, "-m", "user_agent_sdk.cli", "run", *run_arguments(args)]
    return trio.run(_supervise, command, Watcher(script), args.grace + _CHILD_SETTLE_S)


def run_arguments(args: argparse.Namespace) -> list[str]:
    """The ``useragent run`` arguments that mean what ``args`` (parsed by ``dev``) means."""
    template = argparse.ArgumentParser(add_help=False)
    add_run_arguments(template)
    options: list[str] = []
    positionals: list[str] = []
    for action in template._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            # AGENT.py; the published CLI's positional options were given their names
            positionals += [value] if isinstance(value, str) else []
            continue
        if value is None or value == action.default:
            continue
        if isinstance(action, Flag):
            options.append(action.spelling(value))
            continue
        option = max(action.option_strings, key=len)  # the --long form
        # --name=value: a value that starts with "-" stays a value
        options += [f"{option}={item}" for item in (value if isinstance(value, list) else [value])]
    return [*options, "--", *positionals] if positionals else options


async def _supervise(command: list[str], watcher: Watcher, child_grace_s: float) -> int:
    """Run ``command`` again whenever the watched files change; returns its last exit code.

    Should this process die, however it dies, the child gets SIGTERM and, if still running
    ``child_grace_s`` later, SIGKILL (then its own lifeline ends its agents).
    """
    supervisor = _Supervisor(command, watcher, child_grace_s)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(supervisor.forward, signals, nursery.cancel_scope)
            await supervisor.restart_on_changes()
            nursery.cancel_scope.cancel()
    return supervisor.code


class _Supervisor:
    def __init__(self, command: list[str], watcher: Watcher, child_grace_s: float) -> None:
        self.command = command
        self.watcher = watcher
        self.child_grace_s = child_grace_s
        self.child: trio.Process | None = None
        self.stopping = trio.Event()
        self.draining = False
        """The child has been told to stop, for a restart."""
        self.code = 0

    async def forward(self, signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
        async for signum in signals:
            first = not self.stopping.is_set()
            self.stopping.set()
            if self.child is None or self.child.returncode is not None:
                scope.cancel()  # waiting for a fix: nothing runs, nothing to drain
            elif first and self.draining:
                pass  # already draining for a restart, which now will not happen
            else:
                self.child.send_signal(signum)  # a first drains, a second quits

    async def restart_on_changes(self) -> None:
        name = self.watcher.script.name
        while not self.stopping.is_set():
            changes = await self._serve_until_change()
            if self.stopping.is_set():
                return
            if changes:
                log.info("dev: restarting %s", name)
                continue
            log.warning(
                "dev: useragent run exited with code %d; restarting when %s or a file "
                "beside it changes",
                self.code,
                name,
            )
            await self.watcher.changed(self.watcher.snapshot())

    async def _serve_until_change(self) -> list[str]:
        baseline = self.watcher.snapshot()
        # Its own session keeps the child out of reach of this process's death: without the
        # lifeline, a SIGKILLed dev would leave it serving tasks forever. SIGTERM drains it as
        # a Ctrl-C here would.
        with dies_with_this_process(self.child_grace_s, warn=log.warning) as tie:
            self.child = child = await trio.lowlevel.open_process(
                self.command, env={**os.environ, **tie.env}, start_new_session=True
            )
            tie.started(child.pid)
            self.draining = False
            try:
                changes = await _until_change_or_exit(child, self.watcher, baseline)
                if changes and not self.stopping.is_set():
                    log.info(
                        "dev: %s changed; restarting once running tasks finish",
                        ", ".join(changes),
                    )
                    child.send_signal(signal.SIGTERM)
                    self.draining = True
                self.code = await child.wait()
            finally:
                await _reap(child)
        return changes


async def _until_change_or_exit(
    child: trio.Process, watcher: Watcher, baseline: Snapshot
) -> list[str]:
    """The changed names once the watched files change; [] if the child exits first."""
    changes: list[str] = []
    async with trio.open_nursery() as nursery:

        async def watch() -> None:
            changes.extend(await watcher.changed(baseline))
            nursery.cancel_scope.cancel()

        nursery.start_soon(watch)
        await child.wait()
        nursery.cancel_scope.cancel()
    return changes


async def _reap(child: trio.Process) -> None:
    """Make sure the child is gone (killed if this process is quitting on an error)."""
    if child.returncode is None:
        child.kill()
    with trio.CancelScope(shield=True):
        await child.wait()
