"""``useragent version``."""

from __future__ import annotations

import argparse
import platform
from typing import Any

import trio


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "version", help="print the version of user-agent-sdk and its runtime"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import __version__

    print(
        f"user-agent-sdk {__version__} (trio {trio.__version__}, "
        f"Python {platform.python_version()})"
    )
    return 0
