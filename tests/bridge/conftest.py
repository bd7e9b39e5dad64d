"""Fixtures of the bridge tests: the protocol's own SDK in scratch venvs, from PyPI.

``agentproc==0.4.2`` speaks wire 0.1 (the seed's); ``agentproc==0.20.0`` speaks wire 0.4.
Each venv is created on first use under ``.nox/peers`` and reused while it holds the right
version.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

ORIGINAL_SDK = "agentproc==0.4.2"
WIRE04_SDK = "agentproc==0.20.0"
REPO = Path(__file__).resolve().parents[2]
PEERS = REPO / ".nox" / "peers"
PEER_VENV = PEERS / "agentproc-0.4.2"


def _usable(python: Path, version: str) -> bool:
    check = f"import agentproc, sys; sys.exit(agentproc.__version__ != {version!r})"
    return python.exists() and subprocess.run([python, "-c", check], check=False).returncode == 0


def scratch_venv(requirement: str) -> Path:
    """The interpreter of a venv holding ``requirement`` (``name==version``), created on
    first use. Skips (with pip's own words) when it cannot be installed, e.g. offline."""
    version = requirement.partition("==")[2]
    venv = PEERS / f"agentproc-{version}"
    python = venv / "bin" / "python"
    PEERS.mkdir(parents=True, exist_ok=True)
    # Other test runs may create the same venv at the same time.
    with open(PEERS / f".agentproc-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _usable(python, version):
            subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            install = subprocess.run(
                [*pip, requirement],
                capture_output=True,
                text=True,
                check=False,
            )
            if install.returncode != 0:
                pytest.skip(f"cannot install {requirement}: {install.stderr.strip()[-500:]}")
    return python


@pytest.fixture(scope="session")
def original_python() -> Path:
    """The interpreter of a venv holding the original SDK (wire 0.1, ``agentproc==0.4.2``)."""
    return scratch_venv(ORIGINAL_SDK)


@pytest.fixture(scope="session")
def upstream_python() -> Path:
    """The interpreter of a venv holding today's protocol SDK and runner (wire 0.4,
    ``agentproc==0.20.0``)."""
    return scratch_venv(WIRE04_SDK)
