"""The ``useragent`` command: a thin shell over the library's public API.

Each subcommand lives in its own module with two functions: ``add_parser(subparsers)``
declares its arguments and ``run(args) -> int`` does the work and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from . import _dev, _history, _history_detail, _run, _server, _submit, _version

COMMANDS: tuple[ModuleType, ...] = (
    _run,
    _dev,
    _server,
    _submit,
    _history,
    _history_detail,
    _version,
)
"""The subcommands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="useragent",
        description=(
            "Run user agents (Conductor workers) for akaBot 2.0 or any Conductor server, "
            "and a local Conductor-compatible server to run them against."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``useragent`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
