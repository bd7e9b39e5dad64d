"""``useragent version``."""

from __future__ import annotations

from ._options import Command

VERSION = Command(
    "version",
    summary="print the version of user-agent-sdk and of what it runs on",
    description="""
        One line each, labelled as the published CLI labels them: this package's
        version, Python's, the platform (OS, release, machine), the machine, trio's and
        httpx's versions, where the package is installed and the interpreter.
        `useragent --version` prints the version alone.
    """,
    examples=("useragent version", "useragent --version"),
)
