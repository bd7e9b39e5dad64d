"""The execution history: every finished task of ``useragent run -r`` in a SQLite file.

Record from a trio program by wrapping the runtime::

    async with record_history("execution_history.db") as recorder:
        ...  # serve(settings, agents, observer=recorder)

and read it back, synchronously::

    with HistoryStore.open("execution_history.db") as store:
        for execution in store.executions(ExecutionFilter(status="error"), limit=20):
            print(execution.id, execution.user_agent_id, execution.error_message)

The file keeps the seed SDK's table and columns (older files migrate on open) and adds
the Conductor task id, the workflow id, the attempt and the duration.
"""

from ._errors import HistoryError
from ._rows import COLUMNS, STATUSES, Execution, Status
from ._schema import SCHEMA_VERSION
from ._stats import AgentSummary
from ._store import DEFAULT_DB_PATH, ExecutionFilter, HistoryStore
from ._time import parse_since
from ._writer import HistoryRecorder, record_history

__all__ = [
    "COLUMNS",
    "DEFAULT_DB_PATH",
    "SCHEMA_VERSION",
    "STATUSES",
    "AgentSummary",
    "Execution",
    "ExecutionFilter",
    "HistoryError",
    "HistoryRecorder",
    "HistoryStore",
    "Status",
    "parse_since",
    "record_history",
]
