-- An execution history as the seed's SDK (user-agent-sdk 0.2) leaves it: its table and
-- two indexes, no user_version, timestamps in the writer's local time without a zone
-- (these rows were written at UTC+07:00), input and output as JSON text.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS execution_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT,
    agent_id TEXT,
    user_agent_id TEXT,
    started_at TEXT,
    ended_at TEXT,
    status TEXT CHECK (status IN ('success', 'error')),
    input_data TEXT,
    output_data TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS idx_agent_id ON execution_history(agent_id);
CREATE INDEX IF NOT EXISTS idx_user_agent_id ON execution_history(user_agent_id);
INSERT INTO execution_history
    (task_id, agent_id, user_agent_id, started_at, ended_at, status, input_data, output_data, error_message)
VALUES
    ('plat-task-1', 'plat-agent-A', 'sum-agent#user-agent', '2025-03-01T09:15:00.250000',
     '2025-03-01T09:15:00.500000', 'success', '{"num1": 1, "num2": 2}', '{"result": 3}', NULL),
    ('plat-task-2', 'plat-agent-A', 'sum-agent#user-agent', '2025-03-01T09:16:10.000000',
     '2025-03-01T09:16:12.000000', 'error', '{"num1": "x"}', '{}',
     'unsupported operand type(s) for +: ''int'' and ''str'''),
    (NULL, NULL, 'minus-agent#user-agent', '2025-03-01T10:00:00', '2025-03-01T10:00:00.125',
     'success', '{"a": 5}', '{"result": 4}', NULL);
