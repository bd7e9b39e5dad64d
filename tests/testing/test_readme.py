"""The README's "Testing your agents" section runs as written, with either fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .suites import run_suite

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Testing your agents: `user_agent_sdk.testing`")
    end = text.index("\n## ", start + 1)
    blocks: list[tuple[str, str]] = re.findall(r"```(\w+)\n(.*?)```", text[start:end], re.S)
    assert [language for language, _ in blocks] == ["python"] * 3
    return [code for _, code in blocks]


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
