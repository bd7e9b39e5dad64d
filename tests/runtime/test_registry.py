"""``@user_agent`` and ``register_user_agent``: what a handler may ask for, where it goes."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from user_agent_sdk import (
    NonRetryableException,
    RegistrationError,
    Registry,
    TaskContext,
    register_user_agent,
    user_agent,
)
from user_agent_sdk._registry import Injection, collecting, default_registry
from user_agent_sdk.utils.exception import NonRetryableException as SeedPathException


def test_the_decorator_returns_the_function_unchanged() -> None:
    with collecting():

        @user_agent()
        def sum_agent(input_data: dict[str, int]) -> int:
            return input_data["a"] + 1

    assert sum_agent({"a": 1}) == 2


def test_registrations_inside_collecting_go_to_its_registry_only() -> None:
    before = len(default_registry)
    with collecting() as registry:

        @user_agent(agent_id="one")
        def one() -> None: ...

        @user_agent(agent_id="two", workers=4, poll_interval=250, domain="blue")
        async def two() -> None: ...

    assert [spec.agent_id for spec in registry] == ["one", "two"]
    assert len(default_registry) == before
    second = registry.specs[1]
    assert (second.workers, second.poll_interval_ms, second.domain) == (4, 250, "blue")
    assert second.is_async
    assert not registry.specs[0].is_async


def test_injected_parameters_are_recognised_by_name() -> None:
    def handler(
        input_data: dict[str, Any],
        logger: logging.Logger,
        task: object,
        platform_task_id: str | None,
        platform_agent_id: str | None,
        ctx: TaskContext,
    ) -> None: ...

    spec = register_user_agent(handler, registry=Registry())
    assert [injection for _, injection in spec.injections] == [
        Injection.INPUT_DATA,
        Injection.LOGGER,
        Injection.TASK,
        Injection.PLATFORM_TASK_ID,
        Injection.PLATFORM_AGENT_ID,
        Injection.CONTEXT,
    ]


def test_a_parameter_annotated_task_context_gets_the_context_whatever_its_name() -> None:
    def handler(job: TaskContext) -> None: ...

    spec = register_user_agent(handler, registry=Registry())
    assert spec.injections == (("job", Injection.CONTEXT),)


def test_a_parameter_the_runtime_cannot_supply_is_an_error_naming_it() -> None:
    def handler(input_data: dict[str, Any], user_name: str) -> None: ...

    with pytest.raises(
        RegistrationError, match="handler: the runtime cannot supply parameter 'user_name'"
    ):
        register_user_agent(handler, registry=Registry())


def test_other_parameters_with_defaults_keep_their_defaults() -> None:
    def handler(
        input_data: dict[str, Any], retries: int = 3, *args: Any, **kwargs: Any
    ) -> None: ...

    spec = register_user_agent(handler, registry=Registry())
    assert spec.injections == (("input_data", Injection.INPUT_DATA),)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"workers": "4"}, "workers must be an integer >= 1"),
        ({"poll_interval": -1}, "poll_interval must be an integer >= 0"),
        ({"agent_id": ""}, "agent_id must be a non-empty string"),
    ],
)
def test_bad_decorator_arguments_are_errors_naming_them(
    options: dict[str, Any], message: str
) -> None:
    def handler() -> None: ...

    with pytest.raises(RegistrationError, match=message):
        register_user_agent(handler, registry=Registry(), **options)


def test_the_decorator_also_works_without_parentheses() -> None:
    with collecting() as registry:

        @user_agent
        def bare() -> None: ...

    assert registry.specs[0].name == "bare"
    assert registry.specs[0].agent_id is None


def test_non_retryable_exception_is_the_same_class_on_both_import_paths() -> None:
    assert SeedPathException is NonRetryableException
