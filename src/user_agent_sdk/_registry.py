"""``@user_agent`` and ``register_user_agent``: a handler and its settings, as an ``AgentSpec``.

A handler asks for what it needs by naming parameters; the runtime fills them per task:

============================  ==========================================================
``input_data``                the task's input, without the platform's ``__x__`` keys
``logger``                    a :class:`logging.Logger` whose lines become this task's logs
``task``                      the polled :class:`~user_agent_sdk.conductor.Task`
``platform_task_id``          ``inputData["__task_id__"]`` (akaBot's task id), or None
``platform_agent_id``         ``inputData["__deployed_workflow_id__"]``, or None
``ctx`` / ``context``         a :class:`TaskContext` with all of the above (or any
                              parameter annotated ``TaskContext``)
============================  ==========================================================

Any other parameter must have a default; one that has none is an error when the handler
is registered, naming it, rather than a failure on every task.

Registrations go to a :class:`Registry`. The decorator records into the *active* one: a
module-level default, or the fresh registry of a :func:`collecting` block, which is how
``useragent run`` loads a script without sharing state with anything else in the process.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypedDict, TypeVar, Unpack, overload

import attrs

from ._errors import UserAgentError
from .conductor import JsonObject, Task

F = TypeVar("F", bound=Callable[..., Any])


class RegistrationError(TypeError, UserAgentError):
    """A handler or a decorator argument the runtime cannot work with; the message says which."""


class Injection(enum.Enum):
    """What the runtime passes for one handler parameter."""

    INPUT_DATA = "input_data"
    LOGGER = "logger"
    TASK = "task"
    PLATFORM_TASK_ID = "platform_task_id"
    PLATFORM_AGENT_ID = "platform_agent_id"
    CONTEXT = "ctx"


_BY_NAME: dict[str, Injection] = {
    **{injection.value: injection for injection in Injection},
    "context": Injection.CONTEXT,
}


@attrs.frozen
class TaskContext:
    """Everything the runtime knows about the task a handler is running.

    Ask for it with a parameter named ``ctx`` (or annotated ``TaskContext``)::

        @user_agent()
        async def resize(ctx: TaskContext) -> dict[str, int]:
            ctx.logger.info("attempt %d of task %s", ctx.attempt, ctx.task_id)
            return {"width": ctx.input_data["width"] // 2}
    """

    task: Task
    input_data: JsonObject
    """The task's input without the platform's ``__x__`` keys."""
    logger: logging.Logger
    """Lines logged here travel in this task's ``TaskResult.logs``, and only there."""
    agent_id: str
    """The task type this agent serves."""
    worker_id: str
    platform_task_id: str | None = None
    platform_agent_id: str | None = None

    @property
    def task_id(self) -> str:
        """The Conductor task id of this attempt."""
        return self.task.task_id

    @property
    def attempt(self) -> int:
        """1 for the first attempt, 2 for the first retry, and so on."""
        return self.task.attempt


@attrs.frozen
class AgentSpec:
    """One registered handler and how to run it."""

    handler: Callable[..., Any]
    name: str
    """The handler's name, for logs."""
    is_async: bool
    injections: tuple[tuple[str, Injection], ...]
    """Parameter name -> what the runtime passes for it, in signature order."""
    agent_id: str | None = None
    """The task type to serve; None means the ``agentId`` of the credentials."""
    worker_id: str | None = None
    """Sent as ``workerid`` with polls; None means this machine's host name."""
    domain: str | None = None
    poll_interval_ms: int = 1000
    """The longest wait between polls while the queue is empty."""
    workers: int = 1
    """Tasks run at once; ``useragent run -w N`` overrides it."""
    event_loop: str | None = None
    """What an ``async def`` handler is written for: ``"asyncio"``, ``"trio"``, or None
    (the run's default, ``Settings.event_loop``). None for sync handlers."""


class Registry:
    """An ordered collection of :class:`AgentSpec`; one per script that ``useragent run`` loads."""

    def __init__(self) -> None:
        self._specs: list[AgentSpec] = []

    def add(self, spec: AgentSpec) -> None:
        self._specs.append(spec)

    @property
    def specs(self) -> tuple[AgentSpec, ...]:
        return tuple(self._specs)

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self._specs)


default_registry = Registry()
"""Where ``@user_agent`` records outside a :func:`collecting` block."""

_active: contextvars.ContextVar[Registry] = contextvars.ContextVar(
    "user_agent_sdk.active_registry", default=default_registry
)


@contextlib.contextmanager
def collecting(registry: Registry | None = None) -> Iterator[Registry]:
    """Record every registration made inside the block into ``registry`` (a fresh one by default).

    ``useragent run`` executes the agent script inside this block, so the specs it finds
    are exactly the script's, whatever else the process has imported.
    """
    target = Registry() if registry is None else registry
    token = _active.set(target)
    try:
        yield target
    finally:
        _active.reset(token)


def register_user_agent(
    handler: Callable[..., Any],
    *,
    registry: Registry | None = None,
    **options: Unpack[SpecOptions],
) -> AgentSpec:
    """Register ``handler`` as a user agent and return its spec.

    ``options`` are the keyword arguments of :func:`user_agent` (:class:`SpecOptions`).
    ``registry`` defaults to the active registry. Raises :class:`RegistrationError`
    naming the parameter or argument the runtime cannot work with.
    """
    return add_spec(make_spec(handler, **options), registry)


def add_spec(spec: AgentSpec, registry: Registry | None = None) -> AgentSpec:
    """Add ``spec`` to ``registry`` (default: the active registry) and return it."""
    (registry if registry is not None else _active.get()).add(spec)
    return spec


@overload
def user_agent(agent_id: F) -> F: ...


@overload
def user_agent(
    agent_id: str | None = None,
    worker_id: str | None = None,
    domain: str | None = None,
    poll_interval: int = 1000,
    workers: int = 1,
    event_loop: str | None = None,
) -> Callable[[F], F]: ...


def user_agent(
    agent_id: Any = None,
    worker_id: str | None = None,
    domain: str | None = None,
    poll_interval: int = 1000,
    workers: int = 1,
    event_loop: str | None = None,
) -> Any:
    """Make a function (sync or ``async``) a user agent; the function itself is unchanged.

    - ``agent_id``: the task type to serve (default: ``agentId`` from the credentials);
    - ``worker_id``: how this worker names itself to the server (default: the host name);
    - ``domain``: the Conductor task domain to poll (default: none);
    - ``poll_interval``: milliseconds, the longest wait between polls of an empty queue;
    - ``workers``: tasks run at once (``useragent run -w N`` overrides it);
    - ``event_loop``: for an ``async def`` handler, what it is written for: ``"asyncio"``
      (``asyncio.sleep``, aiohttp...: the default, as in the published user-agent-sdk) or
      ``"trio"`` (``trio.sleep``...; also the natively fastest). Default: the run's
      (``useragent run --event-loop``, else asyncio). anyio code runs on either.

    ::

        @user_agent(workers=4)
        def sum_agent(input_data: dict, logger: Logger) -> int:
            logger.info("adding")
            return input_data["num1"] + input_data["num2"]
    """
    if callable(agent_id):  # used bare, as ``@user_agent``
        register_user_agent(agent_id)
        return agent_id

    options: SpecOptions = {
        "agent_id": agent_id,
        "worker_id": worker_id,
        "domain": domain,
        "poll_interval": poll_interval,
        "workers": workers,
        "event_loop": event_loop,
    }

    def decorate(handler: F) -> F:
        add_spec(make_spec(handler, **options))
        return handler

    return decorate


class AgentOptions(TypedDict, total=False):
    """How a user agent is served: the keyword arguments of :func:`user_agent` but
    ``event_loop``, each described there."""

    agent_id: str | None
    worker_id: str | None
    domain: str | None
    poll_interval: int
    workers: int


class SpecOptions(AgentOptions, total=False):
    """Every keyword argument of :func:`user_agent`."""

    event_loop: str | None


def make_spec(handler: Callable[..., Any], **options: Unpack[SpecOptions]) -> AgentSpec:
    """The spec of ``handler`` without registering it anywhere; ``options`` as for
    :func:`user_agent`."""
    if not callable(handler):
        raise RegistrationError(f"a user agent must be a function, got {type(handler).__name__}")
    name = getattr(handler, "__name__", type(handler).__name__)
    for argument in ("agent_id", "worker_id", "domain"):
        _check_optional_text(name, argument, options.get(argument))
    workers = options.get("workers", 1)
    _check_count(name, "workers", workers, low=1)
    poll_interval = options.get("poll_interval", 1000)
    _check_count(name, "poll_interval", poll_interval, low=0)
    is_async = _is_async(handler)
    event_loop = options.get("event_loop")
    _check_event_loop(name, event_loop, is_async)
    return AgentSpec(
        handler=handler,
        name=name,
        is_async=is_async,
        injections=_injections(handler, name),
        agent_id=options.get("agent_id"),
        worker_id=options.get("worker_id"),
        domain=options.get("domain") or None,
        poll_interval_ms=poll_interval,
        workers=workers,
        event_loop=event_loop,
    )


def _check_event_loop(name: str, event_loop: object, is_async: bool) -> None:
    if event_loop is None:
        return
    if event_loop not in ("asyncio", "trio"):
        raise RegistrationError(
            f"@user_agent on {name}: event_loop must be 'asyncio', 'trio' or None, "
            f"got {event_loop!r}"
        )
    if not is_async:
        raise RegistrationError(
            f"@user_agent on {name}: event_loop={event_loop!r} applies to async def "
            f"handlers; {name} is a plain function (it runs on a thread)"
        )


def _check_optional_text(name: str, argument: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise RegistrationError(
            f"@user_agent on {name}: {argument} must be a non-empty string or None, got {value!r}"
        )


def _check_count(name: str, argument: str, value: object, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RegistrationError(
            f"@user_agent on {name}: {argument} must be an integer >= {low}, got {value!r}"
        )


def _is_async(handler: Callable[..., Any]) -> bool:
    call = getattr(handler, "__call__", None)  # noqa: B004 - objects with an async __call__
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


def _injections(handler: Callable[..., Any], name: str) -> tuple[tuple[str, Injection], ...]:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"cannot read the parameters of {name}: {exc}") from None
    injections: list[tuple[str, Injection]] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        injection = _BY_NAME.get(parameter.name)
        if injection is None and _is_context_annotation(parameter.annotation):
            injection = Injection.CONTEXT
        has_default = parameter.default is not parameter.empty
        if injection is not None and parameter.kind is parameter.POSITIONAL_ONLY:
            if has_default:
                continue
            raise RegistrationError(
                f"{name}: parameter {parameter.name!r} is positional-only; the runtime passes "
                f"parameters by name, so remove the '/' from the signature"
            )
        if injection is not None:
            injections.append((parameter.name, injection))
        elif not has_default:
            raise RegistrationError(
                f"{name}: the runtime cannot supply parameter {parameter.name!r}; a user agent "
                f"may take {', '.join(sorted(_BY_NAME))}, and other parameters need a default"
            )
    return tuple(injections)


def _is_context_annotation(annotation: object) -> bool:
    if annotation is TaskContext:
        return True
    # Under ``from __future__ import annotations`` the annotation is still text.
    return isinstance(annotation, str) and annotation.rsplit(".", 1)[-1] == "TaskContext"
