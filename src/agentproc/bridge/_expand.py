"""The profile's text rules: ``${VAR}``, ``{{PLACEHOLDER}}`` and the ``command``/``args`` split.

Each substitution is one pass of one regular expression, so a substituted value is never
scanned again: a message that contains ``${HOME}`` or ``{{PROFILE_DIR}}`` reaches the agent
as the user typed it. Nothing here goes through a shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence

PLACEHOLDERS = ("MESSAGE", "SESSION_ID", "SESSION_NAME", "PROFILE_DIR")
"""The names a profile may use as ``{{NAME}}`` in ``command``, ``args``, ``cwd`` and ``env``."""

_PLACEHOLDER = re.compile(r"\{\{(" + "|".join(PLACEHOLDERS) + r")\}\}")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env_refs(
    text: str,
    environ: Mapping[str, str],
    allowlist: Collection[str] | None,
    warn: Callable[[str], None],
) -> str:
    """``text`` with each ``${VAR}`` replaced by ``environ[VAR]``.

    An unset variable expands to ``""``. With an ``allowlist``, a variable not listed
    expands to ``""`` as well, and ``warn`` is told (the value is never shown).
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if allowlist is not None and name not in allowlist:
            warn(f"${{{name}}} is not in env_allowlist; it expands to an empty string")
            return ""
        return environ.get(name, "")

    return _ENV_REF.sub(value, text)


def substitute_placeholders(text: str, values: Mapping[str, str]) -> str:
    """``text`` with ``{{MESSAGE}}``, ``{{SESSION_ID}}``, ``{{SESSION_NAME}}`` and
    ``{{PROFILE_DIR}}`` replaced from ``values``; a name ``values`` lacks (wire 0.4 has no
    ``{{MESSAGE}}``), and any other ``{{...}}``, stays as it is."""
    if "{{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def command_tokens(command: str, args: Sequence[str] | None) -> list[str]:
    """The argv template of a profile, before placeholders are substituted.

    With ``args`` absent (None), ``command`` is split on whitespace; with ``args`` present,
    even empty, ``command`` is one token and each arg is taken verbatim. Splitting happens
    before substitution, so a placeholder's value is never split.
    """
    if args is None:
        return command.split()
    return [command, *args]
