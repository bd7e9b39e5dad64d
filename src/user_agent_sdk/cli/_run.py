"""``useragent run AGENT.py``: serve the user agents a script defines until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import runpy
import signal
import sys
import traceback
from pathlib import Path

import attrs
import trio

from agentproc.bridge import ProfileError

from .._errors import UserAgentError
from .._registry import AgentSpec, RegistrationError, collecting
from ..conductor import AuthenticationError
from ..config import ConfigError, Settings, load_settings
from ..history import HistoryError, record_history
from ..profiles import profile_agent
from ..runtime import (
    AgentFailed,
    ExecutionObserver,
    Runtime,
    resolve_agents,
    run_with_precise_timers,
    serve,
)
from . import _errors, _logging
from ._heap import freeze_startup_heap
from ._parser import add_run_arguments

log = logging.getLogger("user_agent_sdk.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ABORTED = 130
SYNC_SWITCH_INTERVAL_S = 0.0005
"""The GIL switch interval while sync handlers run (Python's default is 5 ms): a handler
thread that returns waits at most this long for the event loop thread to let go of the
GIL, instead of up to 5 ms, a large share of a short handler's time."""


class ScriptError(UserAgentError):
    """The agents cannot be loaded (script or profile); ``code`` is the exit code to use."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


add_arguments = add_run_arguments
"""The arguments of ``run``, which ``useragent dev`` takes too."""


def run(args: argparse.Namespace) -> int:
    configure_logging(args)
    try:
        path = None if args.profile is not None else _script_path(args)
        settings = _settings(args)
        specs = load_agents(path) if path is not None else _profile_agents(args)
        agents = resolve_agents(settings, specs)  # every agent id problem shows first
    except (ConfigError, ScriptError) as exc:
        print(f"useragent run: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, ScriptError) else EXIT_USAGE
    if any(not agent.spec.is_async or agent.on_asyncio for agent in agents):
        # Handlers run on other threads. This process is ours (an embedding program
        # keeps its own setting).
        sys.setswitchinterval(min(sys.getswitchinterval(), SYNC_SWITCH_INTERVAL_S))
    freeze_startup_heap()
    try:
        aborted = run_with_precise_timers(_serve_recording, settings, specs, args.db_path)
    except (
        AgentFailed,
        AuthenticationError,
        ConfigError,
        HistoryError,
        BaseExceptionGroup,
    ) as error:
        # They may come out of nurseries, wrapped in groups.
        problem = (
            _errors.find(error, AgentFailed)
            or _errors.find(error, AuthenticationError)
            or _errors.find(error, HistoryError)
            or _errors.find(error, ConfigError)
        )
        if problem is None:
            raise
        print(f"useragent run: {problem}", file=sys.stderr)
        return EXIT_USAGE if isinstance(problem, ConfigError) else EXIT_FAILED
    return EXIT_ABORTED if aborted else EXIT_OK


def check_arguments(args: argparse.Namespace) -> Path:
    """What ``useragent run ARGS`` checks before it loads any agent (for ``useragent dev``,
    which runs it in a child process): the script or profile given (a profile is parsed),
    ``--workers``, ``--grace`` and the configuration. Returns the file the agents come
    from; raises :class:`ScriptError` or :class:`ConfigError`, each one line for the user."""
    if args.profile is not None:
        _profile_agents(args)
        source: Path = args.profile
    else:
        source = _script_path(args)
    _settings(args)
    return source


def configure_logging(args: argparse.Namespace) -> None:
    """Log as ``--log-level`` / ``--debug`` ask."""
    _logging.configure("DEBUG" if args.debug else args.log_level, args.log_format)
    # httpx and the pool log one line per request: only with --debug. httpcore's traces stay
    # off at every level: they are noise, and nothing there should ever need to be seen.
    logging.getLogger("httpx").setLevel(logging.INFO if args.debug else logging.WARNING)
    requests = logging.getLogger("user_agent_sdk.transport.requests")  # the pool's own
    requests.setLevel(logging.DEBUG if args.debug else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)


def _script_path(args: argparse.Namespace) -> Path:
    if args.path is None:
        raise ScriptError("which script? usage: useragent run AGENT.py (or --path AGENT.py)")
    return Path(args.path)


def _profile_agents(args: argparse.Namespace) -> tuple[AgentSpec, ...]:
    if args.path is not None:
        raise ScriptError("pass a script or --profile PROFILE.yaml, not both")
    try:
        return (profile_agent(args.profile),)
    except ProfileError as exc:
        raise ScriptError(str(exc)) from None


def _settings(args: argparse.Namespace) -> Settings:
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if args.grace < 0:
        raise ConfigError(f"--grace must not be negative, got {args.grace}")
    settings = load_settings(args.config_file)
    return attrs.evolve(
        settings,
        workers=args.workers,
        grace_s=args.grace,
        record_history=args.record_execution_logs,
        task_log_level=logging.DEBUG if args.debug or args.log_level == "DEBUG" else logging.INFO,
        event_loop=args.event_loop,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )


def load_agents(path: Path) -> tuple[AgentSpec, ...]:
    """Execute the script at ``path`` and return the agents it registers, in order.

    The script runs as module ``__useragent__`` (so an ``if __name__ == "__main__":``
    block does not run) with its directory first on ``sys.path``, as ``python
    AGENT.py`` would have it, and records into a fresh registry.
    """
    if not path.is_file():
        raise ScriptError(f"{path}: no such file")
    sys.path.insert(0, str(path.resolve().parent))
    with collecting() as registry:
        try:
            runpy.run_path(str(path), run_name="__useragent__")
        except RegistrationError as exc:
            raise ScriptError(f"{path}: {exc}") from None
        except (Exception, SystemExit) as exc:
            details = "".join(traceback.format_exception(exc)).rstrip()
            raise ScriptError(f"{path} failed while loading:\n{details}", EXIT_FAILED) from None
    if not len(registry):
        raise ScriptError(
            f"{path} defines no user agents: decorate a function with @user_agent() "
            f"(from user_agent_sdk import user_agent)"
        )
    return registry.specs


async def _serve_recording(settings: Settings, specs: tuple[AgentSpec, ...], db_path: Path) -> bool:
    """:func:`_serve_until_signalled`, with ``-r`` inside the history writer's nursery: the
    writer outlives the runtime, so every finished task's row is written before exit."""
    if not settings.record_history:
        return await _serve_until_signalled(settings, specs, None)
    async with record_history(db_path) as recorder:
        log.info("recording every execution in %s", db_path)
        return await _serve_until_signalled(settings, specs, recorder)


async def _serve_until_signalled(
    settings: Settings, specs: tuple[AgentSpec, ...], observer: ExecutionObserver | None
) -> bool:
    """Serve until a signal has drained the runtime; True when a second signal aborted it."""
    aborted = False
    runtime: Runtime | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                nonlocal aborted
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if runtime is None:  # still starting: nothing to drain
                        aborted = True
                        nursery.cancel_scope.cancel()
                    elif not runtime.stopping:
                        log.info(
                            "%s: finishing running tasks (up to %g s); "
                            "press Ctrl-C again to quit at once",
                            name,
                            settings.grace_s,
                        )
                        runtime.stop()
                    else:
                        log.warning("%s again: quitting now", name)
                        aborted = True
                        runtime.abort()

            nursery.start_soon(watch_signals)
            runtime = await nursery.start(_serve, settings, specs, observer)
            await runtime.wait_stopped()
            nursery.cancel_scope.cancel()  # serve() may not have raised the failure yet
    if runtime is not None and runtime.failure is not None:
        raise runtime.failure
    return aborted


async def _serve(
    settings: Settings,
    specs: tuple[AgentSpec, ...],
    observer: ExecutionObserver | None,
    *,
    task_status: trio.TaskStatus[Runtime] = trio.TASK_STATUS_IGNORED,
) -> None:
    log.info(
        "connecting to %s (%s) with settings from %s",
        settings.api_url,
        settings.flavour.name,
        settings.source,
    )
    await serve(settings, specs, observer=observer, task_status=task_status)
