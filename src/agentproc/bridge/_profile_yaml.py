"""Profile YAML -> an attrs :class:`Profile`: every key of the wire-0.1 and 0.4 tables, with
their defaults.

Which wire a profile speaks: its ``wire:`` key (``"0.1"`` or ``"0.4"``, ours; the protocol's
own profiles have none); without it, a hub profile (keys under an ``agentproc:`` mapping)
is 0.4 and any other is 0.1. Keys that the profile's wire removed are ignored with a warning.

Validation happens here, at the edge: one cattrs converter with strict hooks (a number is
never turned into a string, nor ``"5"`` into a number) refuses wrong types, attrs
validators refuse impossible values, and each refusal is a :class:`ProfileError` naming the
file and the key. Unknown keys are reported through ``warn`` and otherwise ignored, so a
profile written for a later bridge still loads.

``${VAR}`` references in ``env`` values are expanded here, once, against the bridge's
environment; ``{{MESSAGE}}``-style placeholders are left for each turn (see
:mod:`agentproc.bridge._launch`).
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeGuard

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from agentproc._errors import AgentprocError
from agentproc.bridge import _strict as strict
from agentproc.bridge._expand import expand_env_refs

StdinMode = Literal["none", "message"]
WireVersion = Literal["0.1", "0.4"]
WIRES: tuple[WireVersion, ...] = ("0.1", "0.4")

DEFAULT_TIMEOUT_SECS = 1800.0
DEFAULT_KILL_GRACE_SECS = 5.0
DEFAULT_MAX_REPLY_CHARS = 8000
DEFAULT_TRUNCATION_SUFFIX = "\n\n…(truncated)"

Warn = Callable[[str], None]


class ProfileError(ValueError, AgentprocError):
    """A profile that cannot be used; the message names the file, the key and the fix."""


def note_to_stderr(message: str) -> None:
    """The default ``warn``: one ``agentproc:`` line on the bridge's stderr."""
    print(f"agentproc: {message}", file=sys.stderr, flush=True)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be greater than 0, got {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be 0 or more, got {value!r}")


def _stdin_mode(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("none", "message"):
        raise ValueError(f"stdin must be 'none' or 'message', got {value!r}")


def _command(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ValueError("command must name the executable to start; it is empty")


def _wire(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in WIRES:
        raise ValueError(f"wire must be '0.1' or '0.4', got {value!r}")


def _as_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen
class Profile:
    """How a bridge starts an agent: one process per user message.

    Fields are the keys of the wire-0.1 profile table, with the table's defaults:

    - ``command``: the executable; split on whitespace into argv tokens **only when
      ``args`` is None**.
    - ``args``: argv tokens after the executable, each verbatim (None = absent; ``()`` means
      "never split ``command``" too).
    - ``stdin``: ``"none"`` (the agent's stdin is ``/dev/null``) or ``"message"`` (the
      message is written to it, then EOF).
    - ``cwd``: the agent's working directory; None = the bridge's own; a relative path
      resolves against ``profile_dir``.
    - ``env``: extra variables for the agent (``${VAR}`` already expanded when the profile
      was loaded).
    - ``env_allowlist``: when not None, the only variables ``${VAR}`` may read.
    - ``timeout_secs`` (1800), ``kill_grace_secs`` (5): the turn's wall clock, and the time
      between SIGTERM and SIGKILL once it has run out.
    - ``max_reply_chars`` (8000), ``truncation_suffix``: a longer reply is cut to
      ``max_reply_chars`` and the suffix appended.
    - ``include_stderr_in_reply`` (False): add the agent's stderr to the reply (and to the
      failure message of a turn that failed without ``AGENT_ERROR:``).
    - ``send_error_reply`` (True): give a turn that failed without ``AGENT_ERROR:`` a
      user-readable error.
    - ``streaming`` (True): forward ``AGENT_PARTIAL:`` chunks live (``AGENT_STREAMING=1``).
    - ``wire`` (``"0.1"``): the protocol the agent speaks. In ``"0.4"``, ``command`` is never
      split, ``stdin``, ``max_reply_chars``, ``truncation_suffix``,
      ``include_stderr_in_reply`` and ``send_error_reply`` do not apply, the child's
      environment is the bridge's infrastructure variables plus ``env`` only, and:
    - ``permission`` (False, 0.4): open the tool-permission channel.
    - ``allow_tools`` (None, 0.4, ours): tools whose permission requests a policy-driven
      bridge (``useragent run --profile``) allows; every other request is denied.
    - ``executor`` (None, 0.4): a built-in CLI adapter's name; this bridge has none, so
      it runs ``command`` instead, with a warning.

    ``profile_dir`` is the folder of the YAML file (``{{PROFILE_DIR}}``, and the base of a
    relative ``cwd``); ``source`` names the profile in messages. Values are checked on
    construction, so ``attrs.evolve(profile, timeout_secs=0)`` raises ``ValueError`` too.
    """

    command: str = attrs.field(validator=_command)
    args: tuple[str, ...] | None = attrs.field(default=None, converter=_as_tuple)
    stdin: StdinMode = attrs.field(default="none", validator=_stdin_mode)
    cwd: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)
    env_allowlist: tuple[str, ...] | None = attrs.field(default=None, converter=_as_tuple)
    timeout_secs: float = attrs.field(default=DEFAULT_TIMEOUT_SECS, validator=_positive)
    kill_grace_secs: float = attrs.field(default=DEFAULT_KILL_GRACE_SECS, validator=_not_negative)
    max_reply_chars: int = attrs.field(default=DEFAULT_MAX_REPLY_CHARS, validator=_positive)
    truncation_suffix: str = DEFAULT_TRUNCATION_SUFFIX
    include_stderr_in_reply: bool = False
    send_error_reply: bool = True
    streaming: bool = True
    wire: WireVersion = attrs.field(default="0.1", validator=_wire)
    permission: bool = False
    allow_tools: tuple[str, ...] | None = attrs.field(default=None, converter=_as_tuple)
    executor: str | None = None
    profile_dir: Path = attrs.field(factory=Path.cwd, kw_only=True, converter=Path)
    source: str = attrs.field(default="profile", kw_only=True)


WIRE04_ONLY_KEYS = ("permission", "allow_tools", "executor")
_ALL_KEYS: tuple[str, ...] = tuple(
    field.name for field in attrs.fields(Profile) if field.name not in ("profile_dir", "source")
)

PROFILE_KEYS: tuple[str, ...] = tuple(
    key for key in _ALL_KEYS if key not in ("wire", *WIRE04_ONLY_KEYS)
)
"""The keys of the wire-0.1 profile table, in the spec's order (a profile may add ``wire``)."""

WIRE04_PROFILE_KEYS: tuple[str, ...] = (
    "command",
    "args",
    "cwd",
    "env",
    "env_allowlist",
    "timeout_secs",
    "kill_grace_secs",
    "streaming",
    "permission",
    "executor",
    "allow_tools",
)
"""The keys of a wire-0.4 profile (the spec's table, and our ``allow_tools``), and ``wire``."""

WIRE01_ONLY_KEYS = (
    "stdin",
    "max_reply_chars",
    "truncation_suffix",
    "include_stderr_in_reply",
    "send_error_reply",
)
"""Keys wire 0.4 removed (with ``env_inherit``): ignored in a 0.4 profile, with a warning."""
_REMOVED_IN_04 = (*WIRE01_ONLY_KEYS, "env_inherit")


@functools.cache
def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, strict.exact_str)
    converter.register_structure_hook(bool, strict.exact_bool)
    converter.register_structure_hook(int, strict.exact_int)
    converter.register_structure_hook(float, strict.seconds)
    converter.register_structure_hook(
        Profile,
        make_dict_structure_fn(
            Profile,
            converter,
            args=override(struct_hook=strict.optional_str_list),
            stdin=override(struct_hook=strict.exact_str),
            cwd=override(struct_hook=strict.optional_str),
            env=override(struct_hook=strict.str_mapping),
            env_allowlist=override(struct_hook=strict.optional_str_list),
            wire=override(struct_hook=strict.exact_str),
            allow_tools=override(struct_hook=strict.optional_str_list),
            executor=override(struct_hook=strict.optional_str),
            profile_dir=override(omit=True),
            source=override(omit=True),
        ),
    )
    return converter


def _problems(exc: BaseException) -> list[str]:
    """``key: what is wrong`` for each failure cattrs collected."""
    lines = cattrs.transform_error(exc, path="$", format_exception=lambda e, _: str(e))
    problems = []
    for line in lines:
        message, _, path = line.rpartition(" @ ")
        key = path.removeprefix("$.").removeprefix("$")
        problems.append(f"{key} {message}" if key else message)
    return problems


def _check_keys(data: Mapping[str, Any], source: str, wire: str, warn: Warn) -> None:
    for key in data:
        if wire == "0.4" and key in _REMOVED_IN_04:
            warn(f"{source}: {key!r} was removed in wire 0.4; ignored")
            continue
        if wire == "0.1" and key in WIRE04_ONLY_KEYS:
            warn(f'{source}: {key!r} is a wire-0.4 key; ignored (set wire: "0.4")')
            continue
        if key in _ALL_KEYS:
            continue
        close = difflib.get_close_matches(str(key), _ALL_KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warn(f"{source}: unknown key {key!r} ignored{hint}")


def _document(data: object, source: str) -> tuple[dict[str, Any], bool]:
    """The mapping that holds the profile's keys, and whether it is a hub profile."""
    if data is None:
        raise ProfileError(f"{source}: the profile is empty; it needs at least `command:`")
    if not isinstance(data, dict):
        raise ProfileError(
            f"{source}: a profile is a mapping of keys (command:, timeout_secs:, ...), "
            f"got {strict.type_name(data)}"
        )
    section = data.get("agentproc")
    hub = isinstance(section, dict)
    if isinstance(section, dict):
        data = section  # a hub profile: metadata around an ``agentproc:`` section
    if "command" not in data:
        executor = data.get("executor")
        if isinstance(executor, str) and executor.strip():
            raise ProfileError(
                f"{source}: executor {executor.strip()!r} is not built into this bridge (it "
                "has no executors); add `command:` (and `args:`) to run the agent instead"
            )
        raise ProfileError(f"{source}: `command:` is missing; it names the executable to start")
    return data, hub


def parse_profile(
    data: object,
    *,
    profile_dir: str | os.PathLike[str] | None = None,
    source: str = "profile",
    environ: Mapping[str, str] | None = None,
    warn: Warn = note_to_stderr,
    wire: str | None = None,
) -> Profile:
    """The :class:`Profile` that ``data`` (the YAML document, already parsed) describes.

    ``profile_dir`` defaults to the current directory; ``environ`` (default
    ``os.environ``) is what ``${VAR}`` reads. A hub profile, whose keys sit under a top-level
    ``agentproc:`` mapping next to ``name``, ``description`` and the like, is read from that
    mapping and speaks wire 0.4 unless it says ``wire: "0.1"``; ``wire`` (e.g. from a
    command line's ``--wire``) overrides both. Raises :class:`ProfileError`
    naming ``source`` and the key at fault; unknown keys and ``${VAR}`` references outside
    ``env_allowlist`` are reported through ``warn``.
    """
    document, hub = _document(data, source)
    raw_wire = wire if wire is not None else document.get("wire", "0.4" if hub else "0.1")
    wire = raw_wire if isinstance(raw_wire, str) else ""  # the converter names a bad one
    _check_keys(document, source, wire, warn)
    dropped = _REMOVED_IN_04 if wire == "0.4" else WIRE04_ONLY_KEYS
    known = {
        key: value for key, value in document.items() if key in _ALL_KEYS and key not in dropped
    }
    known["wire"] = raw_wire
    limit = known.get("timeout_secs")
    if wire == "0.4" and _is_number(limit) and limit <= 0:
        known["timeout_secs"] = math.inf  # 0.4: zero or less means no limit
    try:
        profile = _converter().structure(known, Profile)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
        raise ProfileError(f"{source}: " + "; ".join(_problems(exc))) from None
    except ValueError as exc:  # an attrs validator
        raise ProfileError(f"{source}: {exc}") from None
    base = os.environ if environ is None else environ
    env = {}
    for name, value in profile.env.items():

        def env_warning(message: str, name: str = name) -> None:
            warn(f"{source}: env {name}: {message}")

        env[name] = expand_env_refs(value, base, profile.env_allowlist, env_warning)
    if profile.wire == "0.4":
        profile = _as_wire04(profile, source, warn)
    return attrs.evolve(
        profile,
        env=env,
        profile_dir=Path(profile_dir) if profile_dir is not None else Path.cwd(),
        source=source,
    )


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_wire04(profile: Profile, source: str, warn: Warn) -> Profile:
    if profile.executor is not None and profile.executor.strip():
        warn(
            f"{source}: executor {profile.executor.strip()!r} is not built into this bridge "
            f"(it has no executors); running command {profile.command.strip()!r} instead"
        )
    # 0.4: command is argv[0] as written (trimmed), never split; args default to none.
    return attrs.evolve(
        profile,
        command=profile.command.strip(),
        args=profile.args if profile.args is not None else (),
    )


def load_profile(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    warn: Warn = note_to_stderr,
    wire: str | None = None,
) -> Profile:
    """Read the profile YAML at ``path``; see :func:`parse_profile` for the rules.

    Raises :class:`ProfileError` when the file cannot be read or parsed, or holds a bad
    value; the message names the file (and the line, for YAML syntax errors).
    """
    import yaml  # only bridges pay for it, never an agent importing agentproc

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{file}: cannot read the profile: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{file}: not UTF-8 text ({exc.reason})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{file}: not valid YAML{where}: {problem}") from None
    return parse_profile(
        data,
        profile_dir=file.resolve().parent,
        source=str(file),
        environ=environ,
        warn=warn,
        wire=wire,
    )
