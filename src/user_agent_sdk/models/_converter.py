"""The one cattrs converter for Conductor's JSON, and the helpers built on it.

Configured once: snake_case attributes <-> camelCase keys, unknown keys ignored,
enums by value, ``None`` fields left out of the output.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .._json import COMPACT
from ._models import TaskResult

__all__ = ["camel_case", "conductor_converter", "encode_result", "from_json_obj", "to_json_obj"]

T = TypeVar("T")


def camel_case(name: str) -> str:
    """``response_timeout_seconds`` -> ``responseTimeoutSeconds``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()

    def unstructure_factory(cls: type[Any]) -> Any:
        overrides: dict[str, Any] = {
            field.name: override(
                rename=camel_case(field.name),
                # Conductor omits nulls; fields with real defaults are always sent,
                # because clients read them without a None check (retryCount + 1).
                omit_if_default=field.default is None,
            )
            for field in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, converter, **overrides)

    def structure_factory(cls: type[Any]) -> Any:
        overrides: dict[str, Any] = {
            field.name: override(rename=camel_case(field.name)) for field in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, converter, **overrides)

    converter.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    converter.register_structure_hook_factory(attrs.has, structure_factory)
    # JSON objects stay as they are: their values are the user's data, not ours.
    converter.register_structure_hook_func(
        lambda type_: type_ == dict[str, Any], lambda value, _: _require_object(value)
    )
    return converter


def _require_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


conductor_converter = _make_converter()
"""The converter for every Conductor wire model."""


def to_json_obj(model: Any) -> Any:
    """Unstructure a wire model (or a list of them) into JSON-ready data."""
    return conductor_converter.unstructure(model)


def from_json_obj(data: Any, cls: type[T]) -> T:
    """Structure JSON data into ``cls``; raises ``cattrs`` errors naming the field."""
    return conductor_converter.structure(data, cls)


def encode_result(result: TaskResult) -> bytes:
    """The JSON body of ``result``; raises TypeError for output JSON cannot hold."""
    return COMPACT.encode(to_json_obj(result)).encode()
