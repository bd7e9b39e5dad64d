"""Log output of the CLI commands: plain lines for people, JSON lines for log shippers."""

from __future__ import annotations

import json
import logging
import time

LOG_FORMATS = ("text", "json")
"""What ``--log-format`` accepts."""

TASK_FIELDS = ("task_id", "agent_id", "workflow_id")
"""Record attributes (``extra=``) that say which task a line is about; JSON lines carry
them when present."""


class JsonLines(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601 with milliseconds), ``level``,
    ``logger``, ``message``, the task fields when the line is about a task, and
    ``exception`` (the traceback) when the record carries one. Never more than one line:
    newlines inside values are escaped by JSON."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, object] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in TASK_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, log_format: str = "text") -> None:
    """Log records at ``level`` (a name, in any case) and above to stderr, as plain lines
    (time, level, logger, message) or, with ``log_format="json"``, as :class:`JsonLines`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler])
