"""Log output of the CLI commands."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    """Plain lines on stderr: time, level, logger, message. ``level`` is a name, in any case."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
