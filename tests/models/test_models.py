"""The wire models read and write Conductor's real JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.models import (
    Task,
    TaskExecLog,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    Workflow,
    WorkflowStatus,
    camel_case,
    from_json_obj,
    to_json_obj,
)

DATA = Path(__file__).parent / "data"

# Keys a newer server may send that our models deliberately do not carry.
NOT_MODELLED = {"taskStatus", "someFutureField", "history", "workflowStatus"}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def test_task_json_from_a_server_round_trips_every_known_field() -> None:
    raw = _load("task.json")
    task = from_json_obj(raw, Task)
    assert task.status is TaskStatus.IN_PROGRESS
    assert task.input_data["recipe"] == {"codec": "h264", "bitrate": 4000}
    assert task.retry_count == 1
    assert task.attempt == 2
    assert task.domain == "gpu"
    assert task.runtime_metadata == {"region": "eu-west-1"}
    expected = {key: value for key, value in raw.items() if key not in NOT_MODELLED}
    assert to_json_obj(task) == expected


def test_task_model_covers_conductors_field_list() -> None:
    modelled = {camel_case(field.name) for field in attrs.fields(Task)}
    assert len(modelled) >= 44
    assert modelled <= set(_load("task.json"))


def test_workflow_json_round_trips_with_its_tasks() -> None:
    raw = _load("workflow.json")
    workflow = from_json_obj(raw, Workflow)
    assert workflow.status is WorkflowStatus.COMPLETED
    assert workflow.tasks[0].output_data == {"location": "s3://bucket/out.mp4"}
    again = to_json_obj(workflow)
    for key, value in raw.items():
        if key not in NOT_MODELLED:
            assert again[key] == value, key


def test_task_result_is_written_in_camel_case_without_nulls() -> None:
    result = TaskResult(
        task_id="t1",
        status=TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
        workflow_instance_id="w1",
        worker_id="host-1",
        output_data={"a": 1},
        logs=[TaskExecLog(log="line", task_id="t1", created_time=1700000000000)],
        reason_for_incompletion="bad input",
    )
    assert to_json_obj(result) == {
        "taskId": "t1",
        "status": "FAILED_WITH_TERMINAL_ERROR",
        "workflowInstanceId": "w1",
        "workerId": "host-1",
        "outputData": {"a": 1},
        "logs": [{"log": "line", "taskId": "t1", "createdTime": 1700000000000}],
        "reasonForIncompletion": "bad input",
        "extendLease": False,
    }


def test_an_unknown_status_is_refused_naming_the_field() -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        from_json_obj({"taskId": "t1", "status": "DONE"}, TaskResult)
    assert any("status" in line for line in cattrs.transform_error(caught.value))


def test_input_data_must_be_an_object() -> None:
    with pytest.raises(cattrs.BaseValidationError):
        from_json_obj({"taskId": "t", "inputData": [1, 2]}, Task)


@pytest.mark.parametrize(
    ("snake", "camel"),
    [
        ("task_id", "taskId"),
        ("response_timeout_seconds", "responseTimeoutSeconds"),
        ("status", "status"),
        ("subworkflow_changed", "subworkflowChanged"),
    ],
)
def test_camel_case(snake: str, camel: str) -> None:
    assert camel_case(snake) == camel


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=4)


@given(
    task_id=st.text(min_size=1),
    status=st.sampled_from(TaskStatus),
    input_data=json_objects,
    output_data=json_objects,
    retry_count=st.integers(min_value=0, max_value=10),
    domain=st.none() | st.text(min_size=1),
)
def test_any_task_survives_json_text(
    task_id: str,
    status: TaskStatus,
    input_data: dict[str, Any],
    output_data: dict[str, Any],
    retry_count: int,
    domain: str | None,
) -> None:
    task = Task(
        task_id=task_id,
        task_type="t",
        status=status,
        input_data=input_data,
        output_data=output_data,
        retry_count=retry_count,
        domain=domain,
    )
    text = json.dumps(to_json_obj(task))
    assert from_json_obj(json.loads(text), Task) == task


@given(
    status=st.sampled_from(TaskResultStatus),
    logs=st.lists(st.text(), max_size=3),
    callback=st.none() | st.integers(min_value=0, max_value=10_000),
)
def test_any_task_result_survives_json_text(
    status: TaskResultStatus, logs: list[str], callback: int | None
) -> None:
    result = TaskResult(
        task_id="t",
        status=status,
        logs=[TaskExecLog(log=line, created_time=1) for line in logs],
        callback_after_seconds=callback,
    )
    assert from_json_obj(json.loads(json.dumps(to_json_obj(result))), TaskResult) == result
