"""Reference pages generated from the code at build time, so they cannot drift from it.

A page asks for a generated part with a marker comment on a line of its own:

- ``<!-- reference: useragent -->``: every ``useragent`` command and option, from the
  argparse declarations of ``user_agent_sdk.cli._parser``;
- ``<!-- reference: agentproc -->``: the same for ``agentproc`` (``agentproc.cli``);
- ``<!-- reference: settings -->``: every field of ``user_agent_sdk.Settings``, with its
  type, default and the docstring written under it.

mkdocs loads this file as a hook (``hooks:`` in ``mkdocs.yml``); ``tests/docs`` imports it
to check what it generates.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

MARKER = re.compile(r"^<!-- reference: ([a-z-]+) -->$", re.MULTILINE)
USAGE_WIDTH = "88"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs' hook: each marker replaced by what it names (an unknown one fails the build)."""
    return MARKER.sub(lambda match: GENERATORS[match.group(1)](), markdown)


# -- commands ------------------------------------------------------------------------------


def useragent_reference() -> str:
    from user_agent_sdk.cli._parser import build

    # `submit --server` defaults to $CONDUCTOR_SERVER_URL when set: document the default.
    saved = os.environ.pop("CONDUCTOR_SERVER_URL", None)
    try:
        parser, _ = build()
    finally:
        if saved is not None:
            os.environ["CONDUCTOR_SERVER_URL"] = saved
    return commands_markdown(parser)


def agentproc_reference() -> str:
    from agentproc.cli import build_parser

    return commands_markdown(build_parser())


def commands_markdown(parser: argparse.ArgumentParser) -> str:
    """The program's usage and options, then a section per command (aliases named in it)."""
    parts = [_usage(parser), _options_table(parser)]
    for aliases, command in _commands(parser):
        title = f"`{command.prog}`"
        if aliases:
            title += " (alias " + ", ".join(f"`{alias}`" for alias in aliases) + ")"
        parts.append(f"## {title}\n")
        parts.append(_usage(command))
        if command.description:
            parts.append(_description(command.description))
        parts.append(_options_table(command))
        if command.epilog:
            parts.append(f"```text\n{command.epilog.rstrip()}\n```\n")
    return "\n".join(parts)


def _commands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    """Each command once, with the other names it answers to, in declaration order."""
    for action in parser._actions:  # argparse has no public list of a parser's commands
        if not isinstance(action, argparse._SubParsersAction):
            continue
        names: dict[int, list[str]] = {}
        parsers: dict[int, argparse.ArgumentParser] = {}
        for name, command in action.choices.items():
            names.setdefault(id(command), []).append(name)
            parsers[id(command)] = command
        for key, command in parsers.items():
            yield names[key][1:], command


def _usage(parser: argparse.ArgumentParser) -> str:
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = USAGE_WIDTH  # argparse wraps the usage to the terminal's width
    try:
        usage = parser.format_usage()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return f"```text\n{usage.rstrip()}\n```\n"


def _description(text: str) -> str:
    """argparse's raw description as Markdown: its paragraphs, lines joined."""
    paragraphs = [" ".join(part.split()) for part in text.strip().split("\n\n")]
    return "\n\n".join(_escape(paragraph) for paragraph in paragraphs) + "\n"


def _options_table(parser: argparse.ArgumentParser) -> str:
    rows = ["| argument | default | what it does |", "|---|---|---|"]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(
            action, argparse._SubParsersAction | argparse._HelpAction
        ):
            continue
        rows.append(f"| {_spelling(action)} | {_default(action)} | {_help(parser, action)} |")
    if len(rows) == 2:
        return ""
    return "\n".join(rows) + "\n"


def _spelling(action: argparse.Action) -> str:
    metavar = action.metavar if isinstance(action.metavar, str) else None
    if not action.option_strings:
        return f"`{metavar or action.dest.upper()}`"
    if action.nargs == 0:
        return ", ".join(f"`{option}`" for option in action.option_strings)
    if metavar is None:
        metavar = (
            "{" + ",".join(map(str, action.choices)) + "}"
            if action.choices is not None
            else action.dest.upper()
        )
    return ", ".join(f"`{option} {metavar}`" for option in action.option_strings)


def _default(action: argparse.Action) -> str:
    default = action.default
    if default is None or default is False or default == [] or default is argparse.SUPPRESS:
        return ""
    if default == "":
        return "empty"
    return f"`{default}`"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = action.help or ""
    if "%" in text:  # as argparse expands it
        values = {**vars(action), "prog": parser.prog}
        values = {key: getattr(value, "__name__", value) for key, value in values.items()}
        text = text % values
    if action.required and action.option_strings:
        text += " (required)"
    return _escape(text)


def _escape(text: str) -> str:
    """Text from ``--help`` as Markdown table text: no pipes, no stray emphasis or tags."""
    text = text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?<![`\w])([*_])", r"\\\1", text)


# -- settings ------------------------------------------------------------------------------


def settings_reference() -> str:
    import attrs

    from user_agent_sdk import Settings

    return fields_markdown(Settings, [field.name for field in attrs.fields(Settings)])


def fields_markdown(cls: type, names: list[str]) -> str:
    """A table of a class's fields, read from its source: type and default as written, and
    the docstring under each field. A field without a docstring fails the build."""
    documented = {field.name: field for field in class_fields(cls)}
    missing = [name for name in names if name not in documented or not documented[name].doc]
    if missing:
        raise ValueError(f"{cls.__name__}: no docstring under field(s) {', '.join(missing)}")
    rows = ["| field | type | default | what it is |", "|---|---|---|---|"]
    for name in names:
        field = documented[name]
        default = "required" if field.default is None else f"`{field.default}`"
        doc = " ".join(field.doc.split())
        rows.append(f"| `{name}` | `{field.annotation}` | {default} | {_rst_to_md(doc)} |")
    return "\n".join(rows) + "\n"


class SourceField:
    def __init__(self, name: str, annotation: str, default: str | None, doc: str) -> None:
        self.name, self.annotation, self.default, self.doc = name, annotation, default, doc


def class_fields(cls: type) -> list[SourceField]:
    """The annotated assignments of a class body, each with the string literal after it."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    fields: list[SourceField] = []
    for statement, following in zip(body.body, [*body.body[1:], None], strict=True):
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        doc = ""
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = inspect.cleandoc(following.value.value)
        default = None if statement.value is None else ast.unparse(statement.value)
        fields.append(
            SourceField(statement.target.id, ast.unparse(statement.annotation), default, doc)
        )
    return fields


def _rst_to_md(text: str) -> str:
    """The reST of a docstring as Markdown: ``code`` and :role:`target` as code."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    return text.replace("|", "\\|")


GENERATORS: dict[str, Callable[[], str]] = {
    "useragent": useragent_reference,
    "agentproc": agentproc_reference,
    "settings": settings_reference,
}
