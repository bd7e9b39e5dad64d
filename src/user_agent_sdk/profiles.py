"""User agents that serve an agentproc profile: each Conductor task becomes one agent turn.

Any agent CLI wrapped by a profile YAML (see :mod:`agentproc.bridge`) becomes a Conductor
worker that scales like any other user agent::

    useragent run --profile profile.yaml -w 16

or, in an agent script (so that ``useragent run agents.py`` serves it with its own agent id
next to other agents)::

    from user_agent_sdk.profiles import register_profile

    register_profile("profile.yaml", agent_id="chat", workers=16)

The task's input is the turn: ``{"message", "session_id", "session_name", "from_user"}``
(and optionally ``"image_url"``, ``"file_url"``, ``"attachments"``); a missing or null
field takes the protocol's default, other fields are ignored. The output is
``{"response", "session_id", "partials"}``, where ``session_id`` is the id to send with the
next message of the conversation.

Wire-0.4 profiles (``wire: "0.4"``, or a hub profile) are served too: ``from_user`` is not
sent, the output adds ``"thinking"`` (the thinking partials; ``"partials"`` holds the reply
text ones) and ``"usage"`` (the agent's token and cost figures, or null), and permission
requests are decided by a policy, never by a person: the tools listed in the profile's
``allow_tools`` (or the ``allow_tools`` argument of :func:`profile_agent`) are allowed,
every other request is denied. Each decision is in the task's logs. How a turn ends:

- success -> ``COMPLETED``;
- ``AGENT_ERROR:`` or a failing process -> ``FAILED`` (retried by the server), the reason
  holding the agent's message;
- the profile's ``timeout_secs`` ran out -> ``FAILED`` (retried);
- a bad input field, an empty 0.4 turn (no message, no attachment), or an agent that
  cannot be started -> ``FAILED_WITH_TERMINAL_ERROR``.

The turn's warnings, and the agent's stderr when it failed, go to the task's logs.

A profile here is the agentproc bridge's profile YAML (:class:`agentproc.bridge.Profile`):
how to start the agent. The agent script it starts may itself be written with
:func:`agentproc.create_profile`; nothing here depends on that.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Collection
from typing import Any, Unpack

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from agentproc import Attachment
from agentproc.bridge import (
    Approver,
    LaunchError,
    PermissionAnswer,
    PermissionRequest,
    Profile,
    RunResult,
    TurnInput,
    allow_tools,
    load_profile,
    run_turn,
)

from ._errors import UserAgentError
from ._registry import AgentOptions, AgentSpec, Registry, add_spec, make_spec
from .runtime import NonRetryableException

log = logging.getLogger("user_agent_sdk.profiles")


class AgentTurnFailed(UserAgentError):
    """The agent reported an error, failed, or ran out of time; the server retries the task."""


class ProfileAgent:
    """The handler of a user agent that serves ``profile``: one agent turn per task.

    ``allow_tools`` (0.4) overrides the profile's own list of tools whose permission
    requests are allowed; all others are denied.
    """

    def __init__(self, profile: Profile, allow_tools: Collection[str] | None = None) -> None:
        self.profile = profile
        tools = allow_tools if allow_tools is not None else profile.allow_tools
        self.allowed_tools = frozenset(tools or ())
        self.__name__ = f"profile {profile.source}"

    async def __call__(self, input_data: dict[str, Any], logger: logging.Logger) -> dict[str, Any]:
        turn = turn_input(input_data)
        wire04 = self.profile.wire == "0.4"
        if wire04 and not (turn.message or turn.attachments or turn.image_url or turn.file_url):
            raise NonRetryableException(
                "input.message is required (or include input.attachments): "
                "a wire-0.4 agent is not started for an empty turn"
            )
        try:
            result = await run_turn(
                self.profile,
                turn,
                warn=logger.warning,
                on_permission=self._policy(logger) if wire04 else None,
            )
        except LaunchError as exc:
            raise NonRetryableException(str(exc)) from None
        logger.info(
            "turn ended with exit code %d after %.3f s, %d partials",
            result.exit_code,
            result.duration_secs,
            len(result.partials),
        )
        if not result.ok:
            if result.stderr_tail:
                logger.warning("the agent's stderr (last lines):\n%s", result.stderr_tail)
            raise AgentTurnFailed(_reason(result))
        if result.stderr_tail:
            logger.debug("the agent's stderr (last lines):\n%s", result.stderr_tail)
        if not wire04:
            return {
                "response": result.reply,
                "session_id": result.session_id,
                "partials": list(result.partials),
            }
        return {
            "response": result.reply,
            "session_id": result.session_id,
            "partials": list(result.output_partials),
            "thinking": list(result.thinking),
            "usage": dict(result.usage) if result.usage is not None else None,
        }

    def _policy(self, logger: logging.Logger) -> Approver:
        decide = allow_tools(self.allowed_tools)

        def logged(request: PermissionRequest) -> PermissionAnswer | None:
            answer = decide(request)
            assert isinstance(answer, PermissionAnswer)  # allow_tools decides at once
            logger.info(
                "permission request %s to run %s (%s): %s%s",
                request.request_id,
                request.tool_name,
                request.summary(),
                "allowed" if answer.behavior == "allow" else "denied",
                f" ({answer.message})" if answer.message else "",
            )
            return answer

        return logged


def _reason(result: RunResult) -> str:
    if result.error:
        return result.error
    return f"the agent failed (exit code {result.exit_code})"


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, got {type(value).__name__}")
    return value


@functools.cache
def _input_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _strict_str)

    def attachments(value: object, _: object) -> tuple[Attachment, ...]:
        if not isinstance(value, list):
            raise TypeError(
                f"must be a list of {{type, url, name}} objects, got {type(value).__name__}"
            )
        return tuple(converter.structure(value, list[Attachment]))

    converter.register_structure_hook(
        TurnInput,
        make_dict_structure_fn(TurnInput, converter, attachments=override(struct_hook=attachments)),
    )
    return converter


def turn_input(input_data: dict[str, Any]) -> TurnInput:
    """The turn a task's input describes; :class:`NonRetryableException` naming a bad field."""
    present = {key: value for key, value in input_data.items() if value is not None}
    try:
        return _input_converter().structure(present, TurnInput)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
        problems = cattrs.transform_error(exc, path="input", format_exception=_problem)
        # "what @ where" -> "where what": the field first, as in the other input errors.
        fields = [" ".join(reversed(problem.rsplit(" @ ", 1))) for problem in problems]
        raise NonRetryableException("; ".join(fields)) from None


def _problem(exc: BaseException, _: object) -> str:
    return "is required" if isinstance(exc, KeyError) else str(exc)


def profile_agent(
    profile: Profile | str | os.PathLike[str],
    *,
    allow_tools: Collection[str] | None = None,
    **options: Unpack[AgentOptions],
) -> AgentSpec:
    """The :class:`AgentSpec` of a user agent serving ``profile`` (a Profile or a YAML path).

    ``options`` are the keyword arguments of :func:`user_agent_sdk.user_agent` but
    ``event_loop`` (``agent_id``, ``worker_id``, ``domain``, ``poll_interval``,
    ``workers``), and ``allow_tools`` is as for :class:`ProfileAgent`; with no
    ``agent_id`` the agent serves the agent id of the credentials. A profile path is loaded
    at once: :class:`agentproc.bridge.ProfileError` names a bad file or key, and unknown
    keys are logged as warnings.
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile, warn=log.warning)
    # The bridge runs the agent's process with trio.
    return make_spec(ProfileAgent(profile, allow_tools), event_loop="trio", **options)


def register_profile(
    profile: Profile | str | os.PathLike[str],
    *,
    registry: Registry | None = None,
    allow_tools: Collection[str] | None = None,
    **options: Unpack[AgentOptions],
) -> AgentSpec:
    """Register a user agent serving ``profile``, as ``register_user_agent`` does a function;
    the arguments are those of :func:`profile_agent`, and ``registry`` (default: the
    active one).

    A relative path is taken from the current directory; in an agent script, prefer a path
    built from ``__file__``.
    """
    return add_spec(profile_agent(profile, allow_tools=allow_tools, **options), registry)


__all__ = [
    "AgentOptions",
    "AgentTurnFailed",
    "ProfileAgent",
    "profile_agent",
    "register_profile",
    "turn_input",
]
