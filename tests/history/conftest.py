"""Fixtures of the history's tests: a prepared database and a terminal of known width."""

from __future__ import annotations

from pathlib import Path

import pytest

from .prepared import prepared_history


@pytest.fixture
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich lays tables out for 200 columns, whatever runs the tests."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A history with the four rows of :data:`prepared.ROWS`."""
    return prepared_history(tmp_path)
