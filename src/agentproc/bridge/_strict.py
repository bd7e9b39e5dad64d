"""cattrs structure hooks that accept only the exact type a profile key needs.

cattrs would happily turn ``5`` into ``"5"`` and ``"5"`` into ``5``; a profile with the
wrong type is a mistake to report, naming the key, not to guess around. Each hook raises
``TypeError`` with a message that reads after the key: ``must be a string, got a number
(8080); quote it``.
"""

from __future__ import annotations

_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}


def type_name(value: object) -> str:
    """How a YAML value is named in messages: ``a number (8080)``, ``a list``, ..."""
    if value is None:
        return "nothing (null)"
    if type(value) in _KINDS:
        return f"{_KINDS[type(value)]} ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def exact_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        hint = "; quote it" if isinstance(value, bool | int | float) else ""
        raise TypeError(f"must be a string, got {type_name(value)}{hint}")
    return value


def exact_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"must be true or false, got {type_name(value)}")
    return value


def exact_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"must be a whole number, got {type_name(value)}")
    return value


def seconds(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"must be a number of seconds, got {type_name(value)}")
    return float(value)


def str_list(value: object, _: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"must be a list of strings, got {type_name(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            hint = "; quote it" if isinstance(item, bool | int | float) else ""
            raise TypeError(f"item {index} must be a string, got {type_name(item)}{hint}")
    return tuple(value)


def optional_str_list(value: object, _: object) -> tuple[str, ...] | None:
    return None if value is None else str_list(value, None)


def optional_str(value: object, _: object) -> str | None:
    return None if value is None else exact_str(value, None)


def str_mapping(value: object, _: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"must be a mapping of NAME: value, got {type_name(value)}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"names must be strings, got {type_name(key)}")
        if not isinstance(item, str):
            hint = "; quote it" if isinstance(item, bool | int | float) else ""
            raise TypeError(f"{key} must be a string, got {type_name(item)}{hint}")
    return dict(value)
