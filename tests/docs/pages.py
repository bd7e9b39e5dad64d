"""The code blocks of the documentation: ``docs/**/*.md``, the README and CONTRIBUTING.md.

Each block is preceded by a marker that says how it is tested::

    <!-- test: tests/docs/test_guides.py -->     run by that test module
    <!-- test: illustrative -->                   not run (python is compiled, and the
                                                  useragent/agentproc commands parsed)

``text`` blocks (output shown to the reader) need none.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
UNMARKED_LANGUAGES = frozenset({"text"})

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- test: (\S+) -->\s*\Z")


@attrs.frozen
class Block:
    page: Path
    line: int
    language: str
    code: str
    test: str | None
    """What the marker before the block names: ``illustrative`` or a test module's path."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return [README, CONTRIBUTING, *sorted(DOCS.rglob("*.md"))]


def page_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        marker = _MARKER.search(text[: match.start()])
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                language=match.group(1),
                code=match.group(2),
                test=marker.group(1) if marker else None,
            )
        )
    return found


def section(page: Path, heading: str) -> str:
    """The text of ``page`` from ``heading`` (a whole line) to the next heading of the same
    level, or to the end of the page."""
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n") + 1
    level = heading.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def blocks(page: Path, heading: str | None = None) -> list[tuple[str, str]]:
    """``(language, code)`` of each block of ``page``, or of one of its sections."""
    text = page.read_text(encoding="utf-8") if heading is None else section(page, heading)
    return [(match.group(1), match.group(2)) for match in _FENCE.finditer(text)]
