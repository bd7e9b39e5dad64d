from typing import Any

from conductor.client.configuration.configuration import Configuration

class Workflow:
    workflow_id: str
    status: str
    input: dict[str, Any]
    output: dict[str, Any]
    tasks: list[Any]
    reason_for_incompletion: str | None

class WorkflowClient:
    def start_workflow_by_name(
        self,
        name: str,
        input: dict[str, Any],
        version: int | None = None,
        correlationId: str | None = None,
        priority: int | None = None,
    ) -> str: ...
    def get_workflow(self, workflow_id: str, include_tasks: bool | None = True) -> Workflow: ...

class OrkesClients:
    def __init__(self, configuration: Configuration | None = None) -> None: ...
    def get_workflow_client(self) -> WorkflowClient: ...
