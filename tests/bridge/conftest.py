"""Fixtures of the bridge tests: the original SDK (``agentproc==0.4.2``) in its own venv."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

ORIGINAL_SDK = "agentproc==0.4.2"
REPO = Path(__file__).resolve().parents[2]
PEER_VENV = REPO / ".nox" / "peers" / "agentproc-0.4.2"

_CHECK = "import agentproc, sys; sys.exit(agentproc.__version__ != '0.4.2')"


def _usable(python: Path) -> bool:
    return python.exists() and subprocess.run([python, "-c", _CHECK], check=False).returncode == 0


@pytest.fixture(scope="session")
def original_python() -> Path:
    """The interpreter of a venv holding the original SDK, created on first use.

    Skips (with pip's own words) when the package cannot be installed, e.g. offline.
    """
    python = PEER_VENV / "bin" / "python"
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    # Other test runs may create the same venv at the same time.
    with open(PEER_VENV.parent / ".agentproc-0.4.2.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _usable(python):
            subprocess.run([sys.executable, "-m", "venv", "--clear", PEER_VENV], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            install = subprocess.run(
                [*pip, ORIGINAL_SDK],
                capture_output=True,
                text=True,
                check=False,
            )
            if install.returncode != 0:
                pytest.skip(f"cannot install {ORIGINAL_SDK}: {install.stderr.strip()[-500:]}")
    return python
