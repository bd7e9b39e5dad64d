"""agentproc: the agent-process protocol on trio (agent SDK and bridge runner)."""
