"""The guide docs/guides/testing.md runs as written, with either fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.pages import DOCS, blocks

from .suites import run_suite

PAGE = DOCS / "guides/testing.md"

pytestmark = pytest.mark.slow


def section_blocks() -> list[str]:
    found = blocks(PAGE)
    assert [language for language, _ in found] == ["python"] * 3
    return [code for _, code in found]


def test_the_example_passes_with_the_pytest_trio_fixture(tmp_path: Path) -> None:
    example, trio_fixture, _ = section_blocks()
    run = run_suite(tmp_path, {"test_greet.py": trio_fixture + example}, "pytest-trio")
    assert (run.returncode, run.outcomes) == (0, {"test_greet": "PASSED"}), run.output


def test_the_example_passes_with_the_anyio_fixture_on_both_backends(tmp_path: Path) -> None:
    example, _, anyio_fixture = section_blocks()
    run = run_suite(tmp_path, {"test_greet.py": anyio_fixture + example}, "anyio")
    assert (run.returncode, run.outcomes) == (
        0,
        {"test_greet[asyncio]": "PASSED", "test_greet[trio]": "PASSED"},
    ), run.output
