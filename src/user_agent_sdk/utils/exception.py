"""The seed SDK's import path for :class:`NonRetryableException`."""

from ..runtime._errors import NonRetryableException

__all__ = ["NonRetryableException"]
