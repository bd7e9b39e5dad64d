"""What the commands are made of: the declaration of a command, and the options and
value types more than one command takes (declared once, here)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._actions import HelpFormatter
from ._defaults import DEFAULT_DB_PATH, LEVELS

if TYPE_CHECKING:
    from datetime import datetime


class Command(NamedTuple):
    """One ``useragent`` command: its help, and what declares its arguments.

    Its implementation is the module ``user_agent_sdk.cli._NAME`` (``-`` as ``_``).
    """

    name: str
    summary: str
    """One line, lower case, no full stop: the command list shows it as it is."""
    description: str
    """Indented text as in a triple-quoted string; the help shows it dedented."""
    examples: tuple[str, ...]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    aliases: tuple[str, ...] = ()

    def add_to(self, subparsers: Any) -> argparse.ArgumentParser:
        """Add the command's parser to ``subparsers`` and return it."""
        sentence = f"{self.summary[0].upper()}{self.summary[1:]}."
        parser: argparse.ArgumentParser = subparsers.add_parser(
            self.name,
            aliases=list(self.aliases),
            help=self.summary,
            description=f"{sentence}\n\n{as_shown(self.description)}",
            epilog=examples_section(*self.examples),
            formatter_class=HelpFormatter,
        )
        parser.set_defaults(implementation="_" + self.name.replace("-", "_"))
        if self.arguments is not None:
            self.arguments(parser)
        return parser


def as_shown(text: str) -> str:
    """A description written as an indented triple-quoted string, as it is to be shown."""
    lines = [line.strip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines)


def examples_section(*lines: str) -> str:
    """The ``examples:`` section that ends a command's help."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def published_positionals(parser: argparse.ArgumentParser, metavar: str | None, help: str) -> None:
    """The command's positional words (see :data:`PUBLISHED_POSITIONALS`): ``metavar`` is
    shown; the published CLI's positional forms of the options are taken silently."""
    if metavar is None:
        parser.set_defaults(first=None)
    else:
        parser.add_argument("first", nargs="?", metavar=metavar, help=help)
    parser.add_argument("more", nargs="*", help=argparse.SUPPRESS)


def level(text: str) -> str:
    return text.upper()


def add_log_level(parser: argparse.ArgumentParser, *short: str) -> None:
    parser.add_argument(
        *short,
        "--log-level",
        type=level,
        choices=LEVELS,
        default="INFO",
        metavar="LEVEL",
        help=f"log this and above: {', '.join(LEVELS)}, in any case",
    )


def add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text: a line per record for people; json: one JSON object per line (time, "
        "level, logger, message, and task_id, agent_id, workflow_id when about a task)",
    )


def port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {port}")
    return port


def add_db_path(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-db",
        "--db-path",
        type=Path,
        default=DEFAULT_DB_PATH,
        metavar="FILE",
        help=what,
    )


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def since(text: str) -> datetime:
    from ...history import parse_since  # the runtime's too: only once --since is given

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
