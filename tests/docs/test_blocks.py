"""Every code block of the docs and the README says how it is tested, and what it says
holds: the named test module exists and reads that page; illustrative Python compiles and
illustrative ``useragent``/``agentproc`` command lines are accepted by the real parsers."""

from __future__ import annotations

import ast
import shlex

import pytest

from agentproc.cli import build_parser
from user_agent_sdk.cli._parser import parse

from .pages import ROOT, UNMARKED_LANGUAGES, Block, page_blocks, pages

BLOCKS = [block for page in pages() for block in page_blocks(page)]
MARKED = [block for block in BLOCKS if block.language not in UNMARKED_LANGUAGES]


def test_every_block_says_how_it_is_tested() -> None:
    unmarked = [block.where for block in MARKED if block.test is None]
    assert unmarked == [], "add <!-- test: illustrative --> or <!-- test: tests/... -->"


def test_every_block_has_a_language() -> None:
    assert [block.where for block in BLOCKS if not block.language] == []


@pytest.mark.parametrize(
    "block",
    [block for block in MARKED if block.test not in (None, "illustrative")],
    ids=lambda block: block.where,
)
def test_the_named_test_module_reads_the_page(block: Block) -> None:
    assert block.test is not None
    module = ROOT / block.test
    assert module.is_file(), f"{block.where}: no {block.test}"
    page = block.page.relative_to(ROOT if block.page.parent == ROOT else ROOT / "docs")
    assert str(page) in module.read_text(encoding="utf-8"), f"{block.test} never names {page}"


@pytest.mark.parametrize(
    "block", [b for b in MARKED if b.language == "python"], ids=lambda block: block.where
)
def test_python_blocks_compile(block: Block) -> None:
    compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def command_lines(code: str) -> list[list[str]]:
    """The simple commands of a shell block: continuation lines joined, comments dropped,
    split at pipes and ``&&``, leading ``NAME=value`` assignments removed."""
    commands: list[list[str]] = []
    for line in code.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        words = list(lexer)
        current: list[str] = []
        for word in [*words, "|"]:
            if word in ("|", "&&", ";", "||"):
                while current and "=" in current[0] and not current[0].startswith("-"):
                    current.pop(0)
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
    return commands


SHELL_COMMANDS = [
    (block, argv)
    for block in MARKED
    if block.language == "bash"
    for argv in command_lines(block.code)
    if argv[0] in ("useragent", "agentproc")
]


@pytest.mark.parametrize(
    ("block", "argv"),
    SHELL_COMMANDS,
    ids=[f"{block.where}:{' '.join(argv[:2])}" for block, argv in SHELL_COMMANDS],
)
def test_documented_command_lines_are_accepted(block: Block, argv: list[str]) -> None:
    try:
        if argv[0] == "useragent":
            parse(argv[1:])
        else:
            build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{block.where}: {shlex.join(argv)} is refused ({exc.code})")


def test_shell_blocks_are_found() -> None:
    assert len(SHELL_COMMANDS) > 20
    assert ["useragent", "history", "--stats"] in [argv for _, argv in SHELL_COMMANDS]
