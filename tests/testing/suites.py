"""A user's test suite, run as the user would run it: ``python -m pytest`` in a folder of its own.

This repository's pytest configuration (``trio_mode = true``) and its plugins stay out:
plugin autoloading is off, the one plugin under test is loaded with ``-p`` and the
configuration file is ``/dev/null``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import attrs

from tests.runtime.support import clean_env

TIMEOUT_S = 120
PLUGINS = {
    "anyio": ["-p", "anyio"],
    "pytest-trio": ["-p", "trio", "-o", "trio_mode=true"],
}


@attrs.frozen
class SuiteRun:
    returncode: int
    output: str
    outcomes: dict[str, str]
    """Test id (``test_x[asyncio]``) -> ``PASSED``, ``FAILED``, ``ERROR`` or ``SKIPPED``."""

    def outcome(self, test_id: str) -> str:
        """The outcome of one test; AssertionError with the whole output if it did not run."""
        if test_id not in self.outcomes:
            raise AssertionError(f"{test_id} did not run:\n{self.output}")
        return self.outcomes[test_id]


def run_suite(folder: Path, files: dict[str, str], plugin: str) -> SuiteRun:
    """Write ``files`` into ``folder`` and run pytest there with ``plugin`` only."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    command = [
        sys.executable,
        "-m",
        "pytest",
        *PLUGINS[plugin],
        "-p",
        "no:cacheprovider",
        "-c",
        "/dev/null",
        "--rootdir",
        str(folder),
        "-rA",
        "-q",
        *files,
    ]
    done = subprocess.run(
        command,
        cwd=folder,
        env=clean_env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    outcomes = {
        match["test"]: match["outcome"]
        for match in re.finditer(
            r"^(?P<outcome>PASSED|FAILED|ERROR|SKIPPED) \S+?::(?P<test>\S+)", output, re.M
        )
    }
    return SuiteRun(done.returncode, output, outcomes)
