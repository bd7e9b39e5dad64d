"""The argparse pieces of our own: the help layout, on/off flags, ``--version``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ._defaults import FALSE_WORDS, TRUE_WORDS


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; each option's default after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS:
            return help
        if "default" in help or not action.option_strings:
            return help
        return help + " (default: %(default)s)"


class Flag(argparse.Action):
    """An on/off option: ``--name`` (and its short form) turns it on, ``--no-name`` off."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        default: bool = False,
        help: str | None = None,
    ) -> None:
        negative = [f"--no-{option[2:]}" for option in option_strings if option.startswith("--")]
        super().__init__([*option_strings, *negative], dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, not (option_string or "").startswith("--no-"))

    def format_usage(self) -> str:
        return self.option_strings[0]

    def spelling(self, on: bool) -> str:
        """The long option that turns it on, or off."""
        positive = next(
            option
            for option in self.option_strings
            if option.startswith("--") and not option.startswith("--no-")
        )
        return positive if on else f"--no-{positive[2:]}"


class PrintVersion(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object, **__: object) -> None:
        from ... import __version__

        print(__version__)
        parser.exit()


def truth(parser: argparse.ArgumentParser, option: str, text: str) -> bool:
    """``text`` as a flag's value (``yes``, ``0``, ``False``...), or a usage error."""
    if text.lower() not in TRUE_WORDS | FALSE_WORDS:
        parser.error(f"argument {option}: expected true or false (or yes/no, 1/0), got {text!r}")
    return text.lower() in TRUE_WORDS
