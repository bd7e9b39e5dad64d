"""Each command's help reads like a man page's synopsis, and its defaults are the library's."""

from __future__ import annotations

import argparse
import re

import pytest

from user_agent_sdk import config, history
from user_agent_sdk.cli import _history_detail, _parser
from user_agent_sdk.server import _app
from user_agent_sdk.transport import _limits

PARSERS = _parser.build()[1]
NAMES = sorted({parser.prog.split()[-1] for parser in PARSERS.values()})


def help_of(command: str) -> str:
    return re.sub(r"\s+", " ", PARSERS[command].format_help())


@pytest.mark.parametrize("command", NAMES)
def test_the_help_says_what_it_does_each_default_and_an_example(command: str) -> None:
    parser = PARSERS[command]
    text = parser.format_help()
    usage, summary, *_ = text.split("\n\n")
    assert usage.startswith(f"usage: useragent {command} ")
    assert summary.endswith(".")
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert all(" useragent " in f" {line}" for line in examples)
    assert any(f"useragent {command}" in line for line in examples)
    flat = help_of(command)
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert re.search(rf"default: [^)]*{re.escape(str(action.default))}", flat), action


def test_the_defaults_repeated_for_a_fast_help_are_the_librarys() -> None:
    assert _parser.EVENT_LOOPS == config.EVENT_LOOPS
    assert _parser.DEFAULT_DB_PATH == history.DEFAULT_DB_PATH
    assert _parser.STATUSES == history.STATUSES
    assert _parser.SERVER_MAX_BATCH == _app.MAX_BATCH
    server = help_of("server")
    assert f"default: {_limits.DEFAULT_MAX_CONNECTIONS}," in server
    assert f"open-file limit less {_limits.RESERVED_FILES} " in server
    detail = help_of("history-detail")
    assert f"{_history_detail.SHOWN_LINES} lines or {_history_detail.SHOWN_CHARS:,} char" in detail
