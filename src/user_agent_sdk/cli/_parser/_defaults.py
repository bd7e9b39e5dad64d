"""The names and defaults every ``useragent`` command shares.

A few defaults belong to the library and are repeated here, so that ``useragent --help``
imports nothing but the standard library (``tests/cli`` checks they agree).
"""

from __future__ import annotations

from pathlib import Path

PROG = "useragent"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EVENT_LOOPS = ("asyncio", "trio")
"""As :data:`user_agent_sdk.config.EVENT_LOOPS`."""
DEFAULT_DB_PATH = Path("execution_history.db")
"""As :data:`user_agent_sdk.history.DEFAULT_DB_PATH`."""
STATUSES = ("success", "error")
"""As :data:`user_agent_sdk.history.STATUSES`."""
SERVER_MAX_BATCH = 1000
"""As ``user_agent_sdk.server._app.MAX_BATCH``."""
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_AGENT_ID = "local-agent"

TRUE_WORDS = frozenset({"yes", "y", "1", "true", "t"})
FALSE_WORDS = frozenset({"no", "n", "0", "false", "f"})
"""The words the published CLI takes for a flag's value (``--debug=no``), in any case."""

PUBLISHED_POSITIONALS: dict[str, tuple[str, ...]] = {
    "run": ("path", "config_file", "workers", "record_execution_logs", "log_level", "debug"),
    "dev": ("path", "config_file", "workers", "log_level", "debug"),
    "history": ("agent_id", "user_agent_id", "limit", "db_path", "export_csv"),
    "history-detail": ("id", "db_path"),
    "hd": ("id", "db_path"),
}
"""The published CLI takes each option of these commands positionally too, in this order:
``run agent.py c.json 4`` is ``run -p agent.py -c c.json -w 4``. An option also given by
name is skipped here (the published CLI refuses that mix)."""
