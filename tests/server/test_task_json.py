"""The task JSON the server hands out equals the model's own unstructuring."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.conductor import Task, TaskStatus, from_json_obj, to_json_obj
from user_agent_sdk.server._records import TaskAttempt
from user_agent_sdk.server._views import task_json, task_model

_text = st.text(max_size=12)
_maybe_text = st.none() | _text
_count = st.integers(min_value=0, max_value=2**40)
_json = st.dictionaries(_text, st.integers() | _text | st.booleans() | st.none(), max_size=3)

rows = st.builds(
    TaskAttempt,
    seq_no=_count,
    id=_text,
    workflow_id=_text,
    workflow_type=_text,
    task_type=_text,
    ref_name=_text,
    domain=_text,
    status=st.sampled_from(TaskStatus),
    input=_json,
    output=_json,
    reason=_maybe_text,
    retry_count=st.integers(min_value=0, max_value=1000),
    max_attempts=st.integers(min_value=1, max_value=1000),
    retry_delay_s=_count,
    response_timeout_s=_count,
    callback_after_s=_count,
    poll_count=_count,
    worker_id=_maybe_text,
    correlation_id=_maybe_text,
    priority=st.integers(min_value=0, max_value=99),
    retried_task_id=_maybe_text,
    retried=st.booleans(),
    scheduled_time=_count,
    start_time=_count,
    first_start_time=_count,
    end_time=_count,
    update_time=_count,
    visible_at=st.none() | _count,
    lease_until=st.none() | _count,
)


@given(rows)
def test_task_json_is_what_the_converter_makes_of_the_task(row: TaskAttempt) -> None:
    assert task_json(row) == to_json_obj(task_model(row))


@given(rows)
def test_a_client_reads_back_the_same_task(row: TaskAttempt) -> None:
    assert from_json_obj(task_json(row), Task) == task_model(row)
