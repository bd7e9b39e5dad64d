"""The ``agentproc`` command."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``agentproc`` console script."""
    raise SystemExit("agentproc: the bridge runner is not built yet (see issue 5)")
