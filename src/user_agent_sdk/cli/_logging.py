"""Log output of the CLI commands."""

from __future__ import annotations

import logging

LEVELS = ("debug", "info", "warning", "error")


def configure(level: str) -> None:
    """Plain lines on stderr: time, level, logger, message."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
