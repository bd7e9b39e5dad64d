"""Each command of the table ``useragent`` is built from runs in its own module."""

from __future__ import annotations

import importlib

import pytest

from user_agent_sdk.cli import _parser


@pytest.mark.parametrize("command", _parser.COMMANDS, ids=lambda command: command.name)
def test_each_command_and_alias_runs_the_module_named_after_it(
    command: _parser.Command,
) -> None:
    parsers = _parser.build()[1]
    module_name = f"user_agent_sdk.cli._{command.name.replace('-', '_')}"
    for name in (command.name, *command.aliases):
        assert parsers[name].get_default("implementation") == module_name.rsplit(".", 1)[1]
    assert callable(importlib.import_module(module_name).run)


def test_the_help_lists_the_commands_in_the_tables_order() -> None:
    text = _parser.build()[0].format_help()
    positions = [text.index(f"\n    {command.name} ") for command in _parser.COMMANDS]
    assert positions == sorted(positions)
