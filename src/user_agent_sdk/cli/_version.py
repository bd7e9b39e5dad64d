"""``useragent version``: this package's version and what it runs on.

The versions of trio and httpx come from their installed metadata: printing them does not
import them.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    import user_agent_sdk

    details = {
        # The published CLI's labels, which scripts may look for.
        "UserAgentSdk version": user_agent_sdk.__version__,
        "Python version": platform.python_version(),
        "Platform": platform.platform(),
        "Machine": platform.machine(),
        "Runtime": f"trio {_installed('trio')}, httpx {_installed('httpx')}",
        "Root path": str(Path(user_agent_sdk.__file__).resolve().parents[1]),
        "Executable": sys.executable,
    }
    width = max(map(len, details)) + 1
    for name, value in details.items():
        print(f"{name + ':':<{width}} {value}")
    return 0


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"
