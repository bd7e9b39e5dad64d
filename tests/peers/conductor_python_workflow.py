"""conductor-python's workflow client, unchanged: start a workflow and print its output."""

from __future__ import annotations

import json
import sys
import time

from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients


def main() -> int:
    workflows = OrkesClients(configuration=Configuration()).get_workflow_client()
    workflow_id = workflows.start_workflow_by_name("echo", {"message": sys.argv[1]})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workflow = workflows.get_workflow(workflow_id, include_tasks=True)
        if workflow.status not in ("RUNNING", "PAUSED"):
            print(
                json.dumps(
                    {
                        "workflowId": workflow.workflow_id,
                        "status": workflow.status,
                        "output": workflow.output,
                        "tasks": len(workflow.tasks),
                    }
                )
            )
            return 0
        time.sleep(0.1)
    print(f"workflow {workflow_id} did not finish", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
