"""Exceptions a handler raises to tell the runtime how a task ended."""

from __future__ import annotations

from .._errors import UserAgentError


class NonRetryableException(UserAgentError):
    """Fail the task for good: the server reports it ``FAILED_WITH_TERMINAL_ERROR``.

    Raise it when another attempt cannot succeed (bad input, a missing permission);
    any other exception fails the attempt and the server retries the task::

        @user_agent()
        def my_agent(input_data):
            if not input_data.get("user_name"):
                raise NonRetryableException("'user_name' is required")
    """
