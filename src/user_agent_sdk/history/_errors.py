"""The one error of the execution history a caller can act on."""

from __future__ import annotations

from .._errors import UserAgentError


class HistoryError(UserAgentError):
    """The history database cannot be used as it is: it is missing, is not an execution
    history, was written by a newer version, or its file cannot be created.

    The message names the file and what to do. Transient trouble (a locked file, a full
    disk) is not a ``HistoryError``: the writer keeps the rows and retries.
    """
