"""From the words of a command line to the chosen command's arguments.

argparse does most of it; what is ours is what the published CLI also accepts: a flag's
value spelled out (``--debug=false``) and the options given positionally
(:data:`PUBLISHED_POSITIONALS`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from ._actions import Flag, HelpFormatter, PrintVersion, truth
from ._defaults import PROG, PUBLISHED_POSITIONALS
from ._history import HISTORY, HISTORY_DETAIL
from ._options import Command, as_shown, examples_section
from ._run import DEV, RUN
from ._server import SERVER
from ._submit import SUBMIT
from ._version import VERSION

COMMANDS: tuple[Command, ...] = (RUN, DEV, SERVER, SUBMIT, HISTORY, HISTORY_DETAIL, VERSION)
"""Every command, in the order ``useragent --help`` lists them."""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` (without the program name) as the chosen command's arguments.

    Usage mistakes print the command's usage and a one-line error, and exit 2.
    """
    parser, commands = build()
    command = commands.get(next((token for token in argv if not token.startswith("-")), ""))
    if command is not None:
        argv = _flag_values_spelled_out(command, argv)
    args, unknown = parser.parse_known_args(argv)
    command = commands[args.command]
    if args.command in PUBLISHED_POSITIONALS:
        _place_positionals(command, args, unknown)
    elif unknown:
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``useragent`` parser, and each command's parser by name (aliases too)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=HelpFormatter,
        description=as_shown(
            """
            Run user agents (Conductor workers) for akaBot 2.0 or any Conductor server, and a
            local Conductor-compatible server to run them against.
            """
        ),
        epilog=examples_section(
            "useragent run agent.py                  # serve the agents of agent.py",
            "useragent server --memory               # a local server on :8080",
            "useragent history                       # what `run -r` recorded",
            "useragent run --help                    # a command's options",
        ),
    )
    parser.add_argument(
        "--version", action=PrintVersion, help="print the version of user-agent-sdk and exit"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for command in COMMANDS:
        command.add_to(subparsers)
    return parser, subparsers.choices


def _flag_values_spelled_out(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--flag=VALUE`` (``-d=false``, ``--no-debug=yes``) spelled as the flag
    or its ``--no-`` form, which is what argparse takes."""
    flags = {
        option: action
        for action in parser._actions  # argparse has no public list of a parser's options
        if isinstance(action, Flag)
        for option in action.option_strings
    }
    spelled: list[str] = []
    for index, word in enumerate(argv):
        if word == "--":
            return spelled + list(argv[index:])
        option, equals, text = word.partition("=")
        action = flags.get(option) if equals else None
        if action is None:
            spelled.append(word)
            continue
        value = truth(parser, option, text)
        spelled.append(action.spelling(value != option.startswith("--no-")))
    return spelled


def _place_positionals(
    parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]
) -> None:
    """Give the command's positional words to :data:`PUBLISHED_POSITIONALS` in order."""
    # argparse hands positionals that follow an option to no one: they come back unknown.
    stray = [token for token in unknown if token.startswith("-")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    words = [*([] if args.first is None else [args.first]), *args.more, *unknown]
    del args.first, args.more
    actions = {action.dest: action for action in parser._actions}
    for dest in PUBLISHED_POSITIONALS[args.command]:
        action = actions[dest]
        if words and getattr(args, dest) == action.default:
            setattr(args, dest, _converted(parser, action, words.pop(0)))
    if words:
        parser.error(f"unrecognized arguments: {' '.join(words)}")
    if args.command in ("history-detail", "hd") and args.id is None:
        parser.error("the following arguments are required: ID")


def _converted(parser: argparse.ArgumentParser, action: argparse.Action, text: str) -> Any:
    """``text`` as ``action`` would take it, or a usage error naming the published CLI's
    name for the positional (``WORKERS``) and what is wrong."""
    name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    name = name.replace("_", "-")
    if isinstance(action, Flag):
        return truth(parser, name, text)
    convert: Callable[[str], Any] = action.type if callable(action.type) else str
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument {name}: {exc}")
    except (TypeError, ValueError):
        kind = getattr(action.type, "__name__", "")
        parser.error(f"argument {name}: invalid {kind} value: {text!r}")
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(repr, action.choices))
        parser.error(f"argument {name}: invalid choice: {text!r} (choose from {choices})")
    return value
