"""What each ``useragent`` command accepts: its options, their defaults, its help.

Nothing here imports more than the standard library, so ``useragent --help`` answers at
once; a command's module (``_run``, ``_server``...) is imported only when it runs, and the
few defaults that belong to the library are repeated in ``_defaults`` (``tests/cli``
checks they agree).

Every form of the published user-agent-sdk 0.2.0 CLI (cyclopts) means the same here: its
short options (``-l``, ``-d``, ``-db``, ``-e``), ``--no-`` flags and ``--flag=false``, its
upper-case log levels (any case here), ``--record-id``, and the positional form of each of
its options (``useragent run agent.py credentials.json 4``).

One module per command (``_run`` declares ``run`` and ``dev``, ``_history`` both history
commands), the options several commands share in ``_options``, and the parsing of the
published CLI's forms in ``_parse``.
"""

from __future__ import annotations

from ._actions import Flag, HelpFormatter
from ._defaults import (
    DEFAULT_AGENT_ID,
    DEFAULT_DB_PATH,
    DEFAULT_SERVER,
    EVENT_LOOPS,
    LEVELS,
    PROG,
    PUBLISHED_POSITIONALS,
    SERVER_MAX_BATCH,
    STATUSES,
)
from ._options import Command
from ._parse import COMMANDS, build, parse
from ._run import add_run_arguments

__all__ = [
    "COMMANDS",
    "DEFAULT_AGENT_ID",
    "DEFAULT_DB_PATH",
    "DEFAULT_SERVER",
    "EVENT_LOOPS",
    "LEVELS",
    "PROG",
    "PUBLISHED_POSITIONALS",
    "SERVER_MAX_BATCH",
    "STATUSES",
    "Command",
    "Flag",
    "HelpFormatter",
    "add_run_arguments",
    "build",
    "parse",
]
