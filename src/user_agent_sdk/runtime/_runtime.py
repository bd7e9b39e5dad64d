"""The runtime's public face: ``await nursery.start(serve, settings, agents)``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterable

import trio

from .._registry import AgentSpec
from ..conductor import ConductorClient, ServerUnavailable
from ..config import ConfigError, Settings
from ..transport import Sender
from ._agent import AgentRunner
from ._asyncio import AsyncioLoop
from ._invoke import Agent
from ._observer import ExecutionObserver
from ._poller import LONG_POLL_MS
from ._refusals import AgentFailed
from ._results import AgentStats

log = logging.getLogger("user_agent_sdk.runtime")

MAX_CONNECTIONS = 128
"""The most connections the runtime opens to its server, however many workers: requests
beyond them wait their turn. Polls and results are small and quick (a long poll holds
one connection per agent), so more would only cost the server sockets."""


class Runtime:
    """A running set of agents: what ``async with open_runtime(...)`` gives its block and
    ``nursery.start(serve, ...)`` returns.

    Stop it gracefully with :meth:`stop` (or by cancelling the nursery that runs
    :func:`serve`), at once with :meth:`abort`. Both may be called from any thread (an
    embedding asyncio program's); the rest is for the runtime's own trio thread, but
    :attr:`running` and :meth:`stats` may be read from anywhere.
    """

    def __init__(self, settings: Settings, agents: list[Agent]) -> None:
        self.settings = settings
        self.agents = tuple(agents)
        self.runners: list[AgentRunner] = []
        self.client: ConductorClient | None = None
        """The runtime's connection to its server, once open."""
        self.metrics_port: int | None = None
        """The port of the metrics endpoint, once it listens (``settings.metrics_port``)."""
        self._scope = trio.CancelScope()
        self._deadline = math.inf
        self._stopping = False
        self._finished = trio.Event()
        self._token = trio.lowlevel.current_trio_token()
        self._thread = threading.get_ident()

    def _elsewhere(self, call: Callable[[], None]) -> bool:
        """Called off the runtime's thread: ``call`` is handed to it (True)."""
        if threading.get_ident() == self._thread:
            return False
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(call)
        return True

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def running(self) -> int:
        """Tasks being worked on right now, over all agents."""
        return sum(runner.running for runner in self.runners)

    @property
    def failure(self) -> AgentFailed | None:
        """Why agents stopped on their own (the server refuses their polls), if any did:
        one error naming each."""
        failures = [runner.failure for runner in self.runners if runner.failure is not None]
        if len(failures) <= 1:
            return failures[0] if failures else None
        return AgentFailed("\n".join(str(failure) for failure in failures))

    def not_ready(self) -> dict[str, str]:
        """Why each agent that cannot take work now cannot, by agent id; empty once every
        agent's last poll got an answer (and while none is stopping)."""
        started = {runner.agent.agent_id: runner for runner in self.runners}
        reasons: dict[str, str] = {}
        for agent in self.agents:
            runner = started.get(agent.agent_id)
            reason = "starting" if runner is None else runner.not_ready()
            if reason is not None:
                reasons[agent.agent_id] = reason
        return reasons

    def stats(self) -> AgentStats:
        """Finished tasks so far, over all agents."""
        total = AgentStats()
        for runner in self.runners:
            total.completed += runner.stats.completed
            total.failed += runner.stats.failed
            total.failed_terminal += runner.stats.failed_terminal
            total.handed_back += runner.stats.handed_back
        return total

    def stop(self, grace: float | None = None) -> None:
        """Stop polling; let running tasks finish within ``grace`` seconds (default:
        ``settings.grace_s``), then cancel them and report them ``FAILED`` so the server
        hands them to another worker. Returns at once; :meth:`wait_stopped` waits.
        Calling it again can only shorten the grace.
        """
        if self._elsewhere(lambda: self.stop(grace)):
            return
        grace = self.settings.grace_s if grace is None else grace
        if not self._stopping:
            log.info(
                "stopping: no new tasks; %d running may take up to %g s to finish",
                self.running,
                grace,
            )
        self._stopping = True
        self._deadline = min(self._deadline, trio.current_time() + grace)
        for runner in self.runners:
            runner.stop(self._deadline)

    def abort(self) -> None:
        """Stop now: cancel running tasks and undelivered results without reporting them.

        The server hands those tasks out again once their leases run out.
        """
        if self._elsewhere(self.abort):
            return
        self._stopping = True
        self._deadline = -math.inf
        for runner in self.runners:
            runner.abort()
        self._scope.cancel()

    async def wait_stopped(self) -> None:
        """Wait until every agent has stopped and every result it could send is sent."""
        await self._finished.wait()

    async def _run(
        self,
        observer: ExecutionObserver | None,
        sender: Sender | None,
        host_loop: asyncio.AbstractEventLoop | None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        settings = self.settings
        try:
            with self._scope, contextlib.ExitStack() as own:
                asyncio_loop: AsyncioLoop | None = None
                if any(agent.on_asyncio for agent in self.agents):
                    asyncio_loop = (
                        AsyncioLoop.of_host(host_loop)
                        if host_loop is not None
                        else own.enter_context(AsyncioLoop.own())
                    )
                connections = min(
                    MAX_CONNECTIONS, sum(2 * agent.workers + 8 for agent in self.agents)
                )
                async with (
                    ConductorClient(
                        settings.api_url,
                        settings.flavour,
                        settings.credentials,
                        max_connections=connections,
                        sender=sender,
                        ca_bundle=settings.ca_bundle,
                    ) as client,
                    trio.open_nursery() as services,
                ):
                    self.client = client
                    if settings.metrics_port is not None:
                        await self._serve_probes(services)
                    await _authenticate(client)
                    async with trio.open_nursery() as nursery:
                        for agent in self.agents:
                            runner = AgentRunner(agent, client, observer, asyncio_loop)
                            self.runners.append(runner)
                            await nursery.start(runner.run)
                            if self._stopping:
                                runner.stop(self._deadline)
                            log.info(
                                "%s: serving agent id %r with %d workers%s",
                                agent.spec.name,
                                agent.agent_id,
                                agent.workers,
                                _kind(agent),
                            )
                        # From here on a cancellation from outside is a request to
                        # drain: serve() turns it into stop(), and the drain is bounded
                        # by the grace, the poll in flight and the final send window.
                        self._scope.shield = True
                        task_status.started()
                    services.cancel_scope.cancel()  # the probes go with the last agent
            stats = self.stats()
            log.info(
                "stopped: %d completed, %d failed, %d failed for good, %d handed back",
                stats.completed,
                stats.failed,
                stats.failed_terminal,
                stats.handed_back,
            )
        finally:
            self._finished.set()

    async def _serve_probes(self, services: trio.Nursery) -> None:
        from ..metrics import serve_worker_probes  # prometheus-client only when asked for

        host, port = self.settings.metrics_host, self.settings.metrics_port
        assert port is not None
        try:
            self.metrics_port = await services.start(serve_worker_probes, self, host, port)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc} "
                f"(choose another --metrics-port)"
            ) from exc
        log.info(
            "metrics on http://%s:%d/metrics; probes /healthz and /readyz",
            host,
            self.metrics_port,
        )


def _kind(agent: Agent) -> str:
    if not agent.spec.is_async:
        return " (sync handler, on threads)"
    return " (asyncio handler)" if agent.on_asyncio else " (trio handler)"


async def _authenticate(client: ConductorClient) -> None:
    try:
        await client.authenticate()
    except ServerUnavailable as exc:
        log.warning("cannot reach the server yet (%s); polling will keep trying", exc)


async def serve(
    settings: Settings,
    agents: Iterable[AgentSpec],
    *,
    observer: ExecutionObserver | None = None,
    sender: Sender | None = None,
    asyncio_loop: asyncio.AbstractEventLoop | None = None,
    task_status: trio.TaskStatus[Runtime] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``agents`` against the server of ``settings`` until stopped.

    Start it with ``runtime = await nursery.start(serve, settings, agents)``: ``start``
    returns once every agent is polling, with the :class:`Runtime` handle (typed ``Any``,
    as trio types ``start``: annotate ``runtime: Runtime``, or use
    :func:`~user_agent_sdk.open_runtime`, whose block gets it typed). Cancelling
    the nursery drains the runtime before the cancellation completes: polling stops,
    running tasks get ``settings.grace_s`` seconds to finish, then are cancelled and
    reported ``FAILED`` (retryable), and their results are sent. ``runtime.stop()``
    does the same and lets ``serve`` return normally; ``runtime.abort()`` skips the drain.

    Raises :class:`~user_agent_sdk.config.ConfigError` before starting when an agent has
    no agent id or two agents share one, and
    :class:`~user_agent_sdk.conductor.AuthenticationError` when the server refuses the
    credentials. An unreachable server is not an error: polls back off and recover. A
    poll the server refuses (4xx) is made smaller if that can help; if not, that agent
    stops (its running tasks finish and report), the others serve on, and once every
    agent has stopped ``serve`` raises :class:`AgentFailed` naming the refusal.

    ``async def`` handlers written for asyncio (``Settings.event_loop``, the agent's
    ``event_loop``) run as tasks of ``asyncio_loop``, a loop running on another thread
    (the embedding program's; see :func:`~user_agent_sdk.running`), or by default of a
    loop on a thread of the runtime's own for as long as it runs.

    ``observer`` is called with an :class:`ExecutionRecord` for each finished task;
    ``sender`` carries every request to the server instead of the runtime's own
    :class:`~user_agent_sdk.transport.PoolSender` (an
    :class:`~user_agent_sdk.transport.HttpxSender` over a test transport, say); the
    runtime closes it when it stops.
    """
    runtime = Runtime(settings, resolve_agents(settings, agents))
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime._run, observer, sender, asyncio_loop)
        task_status.started(runtime)
        try:
            await runtime.wait_stopped()
        finally:
            if not runtime.stopping:
                runtime.stop()
    if runtime.failure is not None:
        raise runtime.failure


def resolve_agents(settings: Settings, specs: Iterable[AgentSpec]) -> list[Agent]:
    """Each spec with its agent id, worker count and worker id settled."""
    specs = list(specs)
    if not specs:
        raise ConfigError("there are no user agents to run: decorate a function with @user_agent()")
    host = socket.gethostname()
    agents: list[Agent] = []
    seen: dict[str, AgentSpec] = {}
    for spec in specs:
        agent_id = spec.agent_id or settings.agent_id
        if agent_id is None:
            raise ConfigError(_no_agent_id(spec, settings))
        if agent_id in seen:
            raise ConfigError(
                f"{seen[agent_id].name} and {spec.name} both serve agent id {agent_id!r}: "
                f"give each its own @user_agent(agent_id=...)"
            )
        seen[agent_id] = spec
        agents.append(
            Agent(
                spec=spec,
                agent_id=agent_id,
                workers=settings.workers or spec.workers,
                worker_id=settings.worker_id or spec.worker_id or host,
                task_log_level=settings.task_log_level,
                on_asyncio=spec.is_async and (spec.event_loop or settings.event_loop) == "asyncio",
            )
        )
    return agents


def _no_agent_id(spec: AgentSpec, settings: Settings) -> str:
    if settings.source.startswith("$"):
        where = "set $USERAGENT_AGENT_ID"
    else:
        where = f"add the field 'agentId' to {settings.source}"
    return f"{spec.name} has no agent id: pass @user_agent(agent_id=...) or {where}"


__all__ = ["LONG_POLL_MS", "Runtime", "resolve_agents", "serve"]
