"""What one turn starts: the argv, working directory, environment and stdin of the agent.

Wire 0.1 passes the turn in ``AGENT_*`` variables on top of the bridge's environment; wire
0.4 writes it as one JSON line on stdin, and the child's environment is composed from
nothing: the bridge's infrastructure variables (:data:`INFRA_VARIABLES`), then the
profile's ``env``, then the command line's ``--env`` (already merged into the profile's).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from agentproc import PROTOCOL_VERSION, Attachment
from agentproc._context import PROTOCOL_VARIABLES
from agentproc._errors import AgentprocError
from agentproc._session_id import (
    explain_invalid_event_session_id,
    explain_invalid_session_id,
    is_valid_event_session_id,
    is_valid_session_id,
)
from agentproc.bridge._expand import command_tokens, substitute_placeholders
from agentproc.bridge._profile_yaml import Profile

INFRA_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TMPDIR",
    "TZ",
    "PWD",
)
"""Wire 0.4: the only variables of the bridge's environment that reach the agent (POSIX)."""

WIRE04_VERSION = "0.4"

EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


def _attachments(value: Sequence[Attachment]) -> tuple[Attachment, ...]:
    return tuple(value)


@attrs.frozen
class TurnInput:
    """One user message, as the bridge passes it to the agent (0.1: ``AGENT_*`` variables;
    0.4: the stdin turn line, where ``image_url``, ``file_url`` and each attachment become
    ``attachments`` entries ``{"kind", "url", "name"}`` and ``from_user`` is not sent).

    ``session_id`` is the id the previous turn declared (``""`` starts a new session); it
    must be a valid session id of the profile's wire or empty.
    """

    message: str = ""
    session_id: str = ""
    session_name: str = "default"
    from_user: str = ""
    image_url: str = ""
    file_url: str = ""
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_attachments)


class LaunchError(AgentprocError):
    """The agent process could not be started; nothing ran.

    ``exit_code`` is what a shell would report: 127 when the command was not found, 126
    when it cannot be executed (or the turn cannot be passed to it).
    """

    def __init__(self, message: str, exit_code: int = EXIT_CANNOT_EXECUTE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@attrs.frozen
class Launch:
    """A turn's process, ready for ``trio.lowlevel.open_process``."""

    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    stdin: bytes | None
    """What to write to the agent's stdin before closing it, or None for ``/dev/null``."""
    keep_stdin_open: bool = False
    """Wire 0.4 with the permission channel: stdin stays open for permission responses."""


def _check_session_id(
    session_id: str, valid: Callable[[str], bool], explain: Callable[[str], str]
) -> None:
    if session_id and not valid(session_id):
        raise LaunchError(
            f"session id {session_id!r} cannot be passed to the agent: {explain(session_id)}"
        )


def _placeholders(profile: Profile, turn: TurnInput) -> dict[str, str]:
    """The ``{{NAME}}`` values of both wires (0.1 adds ``MESSAGE``)."""
    return {
        "SESSION_ID": turn.session_id,
        "SESSION_NAME": turn.session_name,
        "PROFILE_DIR": str(profile.profile_dir),
    }


def plan_launch(profile: Profile, turn: TurnInput, environ: Mapping[str, str]) -> Launch:
    """The process to start for ``turn``; :class:`LaunchError` when the turn cannot travel.

    Wire 0.1: the environment is ``environ`` without any ``AGENT_*`` protocol variable of
    its own, then the profile's ``env`` (placeholders substituted), then the turn's
    ``AGENT_*`` variables, which always win. Wire 0.4: see :func:`plan_event_launch`.
    """
    if profile.wire == "0.4":
        return plan_event_launch(profile, turn, environ)
    _check_session_id(turn.session_id, is_valid_session_id, explain_invalid_session_id)
    values = {"MESSAGE": turn.message, **_placeholders(profile, turn)}
    argv = [
        substitute_placeholders(token, values)
        for token in command_tokens(profile.command, profile.args)
    ]
    env = {key: value for key, value in environ.items() if key not in PROTOCOL_VARIABLES}
    env.update(
        {name: substitute_placeholders(value, values) for name, value in profile.env.items()}
    )
    env.update(_protocol_env(profile, turn))
    _check_nul(argv, env)
    stdin = turn.message.encode("utf-8", "surrogateescape") if profile.stdin == "message" else None
    return Launch(argv=argv, cwd=_cwd(profile, values), env=env, stdin=stdin)


def plan_event_launch(profile: Profile, turn: TurnInput, environ: Mapping[str, str]) -> Launch:
    """The wire-0.4 process for ``turn``: argv ``[command, *args]`` never split,
    ``{{SESSION_ID}}``, ``{{SESSION_NAME}}`` and ``{{PROFILE_DIR}}`` substituted in argv,
    ``env`` and ``cwd`` (``{{MESSAGE}}`` stays literal), the infrastructure variables of
    ``environ`` plus the profile's ``env``, and the turn as one JSON line on stdin."""
    _check_session_id(turn.session_id, is_valid_event_session_id, explain_invalid_event_session_id)
    values = _placeholders(profile, turn)
    argv = [
        substitute_placeholders(token, values) for token in [profile.command, *(profile.args or ())]
    ]
    env = {name: environ[name] for name in INFRA_VARIABLES if name in environ}
    env.update(
        {name: substitute_placeholders(value, values) for name, value in profile.env.items()}
    )
    _check_nul(argv, env)
    line = json.dumps(turn_object(profile, turn), ensure_ascii=False, separators=(",", ":"))
    return Launch(
        argv=argv,
        cwd=_cwd(profile, values),
        env=env,
        stdin=(line + "\n").encode("utf-8", "surrogateescape"),
        keep_stdin_open=profile.permission,
    )


def turn_object(profile: Profile, turn: TurnInput) -> dict[str, object]:
    """The wire-0.4 turn: optional fields only when they carry something."""
    obj: dict[str, object] = {
        "type": "turn",
        "message": turn.message,
        "session_id": turn.session_id,
        "session_name": turn.session_name,
        "protocol_version": WIRE04_VERSION,
    }
    attachments = [
        {"kind": kind, "url": url}
        for kind, url in (("image", turn.image_url), ("file", turn.file_url))
        if url
    ]
    for attachment in turn.attachments:
        entry = {"kind": attachment.type, "url": attachment.url}
        if attachment.name:
            entry["name"] = attachment.name
        attachments.append(entry)
    if attachments:
        obj["attachments"] = attachments
    if profile.permission:
        obj["permission"] = True
    return obj


def _protocol_env(profile: Profile, turn: TurnInput) -> dict[str, str]:
    env = {
        "AGENT_MESSAGE": turn.message,
        "AGENT_SESSION_ID": turn.session_id,
        "AGENT_SESSION_NAME": turn.session_name,
        "AGENT_FROM_USER": turn.from_user,
        "AGENT_STREAMING": "1" if profile.streaming else "0",
        "AGENT_PROTOCOL_VERSION": PROTOCOL_VERSION,
        "AGENT_IMAGE_URL": turn.image_url,
        "AGENT_FILE_URL": turn.file_url,
    }
    if turn.attachments:
        env["AGENT_ATTACHMENTS"] = json.dumps(
            [attrs.asdict(attachment) for attachment in turn.attachments], ensure_ascii=False
        )
    return env


def _cwd(profile: Profile, values: Mapping[str, str]) -> Path | None:
    if profile.cwd is None:
        return None
    cwd = Path(substitute_placeholders(profile.cwd, values)).expanduser()
    cwd = cwd if cwd.is_absolute() else profile.profile_dir / cwd
    if not cwd.is_dir():
        raise LaunchError(f"{profile.source}: cwd {cwd} is not a directory")
    return cwd


def _check_nul(argv: Sequence[str], env: Mapping[str, str]) -> None:
    # The kernel takes argv and the environment as C strings: a NUL would cut them short.
    for token in argv:
        if "\0" in token:
            raise LaunchError("an argument of the agent's command contains a NUL character")
    for name, value in env.items():
        if "\0" in value or "\0" in name or "=" in name:
            raise LaunchError(
                f"environment variable {name!r} cannot be passed to the agent: "
                "names must not contain '=' or NUL, values must not contain NUL"
            )


def describe_spawn_failure(exc: OSError, launch: Launch, profile: Profile) -> LaunchError:
    """A :class:`LaunchError` that says what could not be started, and why."""
    executable = launch.argv[0] if launch.argv else ""
    where = f"(command of {profile.source})"
    if isinstance(exc, FileNotFoundError):
        return LaunchError(f"{executable}: command not found {where}", EXIT_NOT_FOUND)
    if isinstance(exc, PermissionError):
        return LaunchError(f"{executable}: permission denied; is it executable? {where}")
    if exc.errno == errno.E2BIG:  # argv + environment over the kernel's limit
        return LaunchError(
            f"cannot start {executable}: the message is too large to pass in AGENT_MESSAGE "
            f"or argv ({len(launch.env.get('AGENT_MESSAGE', '').encode())} bytes; "
            f"Linux allows 128 KiB per variable)"
        )
    return LaunchError(f"cannot start {executable} {where}: {exc.strerror or exc}")
