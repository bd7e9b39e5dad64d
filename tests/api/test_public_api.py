"""The public API's promises that no behaviour test states: every error a package
defines derives from the package's base (and keeps its built-in base), and every type
that appears in a public signature can be imported from a public module.

Both are found by walking the packages' modules, so a new class or a new signature is
checked without this file changing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import typing
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

import agentproc
import user_agent_sdk
from agentproc import AgentprocError
from agentproc.bridge import ProfileError
from user_agent_sdk import RegistrationError, UserAgentError
from user_agent_sdk.conductor import (
    AuthenticationError,
    ConductorError,
    RequestRejected,
    ServerUnavailable,
)
from user_agent_sdk.server._engine import DuplicateResult, TaskNotFound

BASES: dict[ModuleType, type[Exception]] = {
    user_agent_sdk: UserAgentError,
    agentproc: AgentprocError,
}


def modules(package: ModuleType) -> list[ModuleType]:
    """The package and every module under it (``__main__`` modules run on import)."""
    names = [package.__name__] + [
        info.name
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if not info.name.endswith(".__main__")
    ]
    return [importlib.import_module(name) for name in names]


def defined_exceptions(package: ModuleType) -> list[type[BaseException]]:
    """Every exception class a module of ``package`` defines, but for the underscore-named
    ones (signals that never leave their module)."""
    return [
        value
        for module in modules(package)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    ]


@pytest.mark.parametrize("package", list(BASES), ids=lambda package: package.__name__)
def test_every_exception_a_package_defines_derives_from_its_base(package: ModuleType) -> None:
    base = BASES[package]
    found = defined_exceptions(package)
    assert base in found
    assert len(found) > 3  # the walk found the modules
    without = [
        f"{error.__module__}.{error.__qualname__}" for error in found if not issubclass(error, base)
    ]
    assert without == [], f"derive these from {base.__name__} too"


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (RegistrationError, TypeError),
        (ProfileError, ValueError),
        (TaskNotFound, LookupError),
        (DuplicateResult, ValueError),
        (ServerUnavailable, ConductorError),
        (AuthenticationError, ConductorError),
        (RequestRejected, ConductorError),
    ],
)
def test_errors_keep_the_base_they_had(error: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(error, builtin)


def test_the_bases_are_exported_and_catch_their_own_errors_only() -> None:
    assert user_agent_sdk.UserAgentError is UserAgentError
    assert agentproc.AgentprocError is AgentprocError
    assert not issubclass(AgentprocError, UserAgentError)
    assert not issubclass(UserAgentError, AgentprocError)
    with pytest.raises(UserAgentError):
        raise ConductorError("refused")


# Signatures that take or return a type no public module exports, and why they may.
KNOWN: dict[str, str] = {
    "agentproc.AgentContext.__init__": "built by the SDK for each turn, not by callers",
    "user_agent_sdk.runtime.AgentRunner.__init__": "built by the Runtime for each agent",
    "user_agent_sdk.history.HistoryRecorder.__init__": "built by record_history",
    "user_agent_sdk.runtime.PreciseClock.__init__": "built by run_with_precise_timers",
    # The embedded server's side of the metrics takes the server's own engine and HTTP
    # types; the server calls these, callers use ServerConfig(metrics=True).
    "user_agent_sdk.metrics.ServerCollector.__init__": "the server's engine",
    "user_agent_sdk.metrics.server_registry": "the server's engine",
    "user_agent_sdk.metrics.metrics_response": "the server's HTTP request and response",
}


def public_modules() -> list[ModuleType]:
    """The modules with an ``__all__`` and no underscore-named part in their name."""
    return [
        module
        for package in BASES
        for module in modules(package)
        if hasattr(module, "__all__")
        and not any(part.startswith("_") for part in module.__name__.split("."))
    ]


def every_class_by_name() -> dict[str, Any]:
    """Names for the annotations that only ``TYPE_CHECKING`` imports."""
    names: dict[str, Any] = {}
    for package in BASES:
        for module in modules(package):
            for name, value in vars(module).items():
                if isinstance(value, type) and value.__module__ == module.__name__:
                    names.setdefault(name, value)
    return names


def signatures(module: ModuleType) -> Iterator[tuple[str, Callable[..., Any] | type]]:
    """Each function, class (its annotated attributes), method and property of a public name."""
    for name in module.__all__:
        value = getattr(module, name)
        where = f"{module.__name__}.{name}"
        if inspect.isclass(value):
            yield where, value
            for attribute, member in vars(value).items():
                if attribute.startswith("_") and attribute not in ("__init__", "__call__"):
                    continue
                if isinstance(member, property):
                    member = member.fget
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{where}.{attribute}", member
        elif inspect.isfunction(value):
            yield where, value


def leaves(annotation: Any) -> Iterator[type]:
    if isinstance(annotation, type):
        yield annotation
    origin = typing.get_origin(annotation)
    if isinstance(origin, type):
        yield origin
    for argument in typing.get_args(annotation):
        for part in argument if isinstance(argument, list) else [argument]:
            yield from leaves(part)


def test_every_type_in_a_public_signature_is_exported() -> None:
    public = public_modules()
    exported = {id(getattr(module, name)) for module in public for name in module.__all__}
    fallback = every_class_by_name()
    unexported: dict[str, set[str]] = {}
    for module in public:
        for where, value in signatures(module):
            home = sys.modules[value.__module__]
            hints = typing.get_type_hints(value, localns={**fallback, **vars(home)})
            for name, annotation in hints.items():
                if name.startswith("_"):
                    continue  # a private attribute
                for leaf in leaves(annotation):
                    ours = leaf.__module__.split(".")[0] in ("user_agent_sdk", "agentproc")
                    if ours and id(leaf) not in exported and where not in KNOWN:
                        unexported.setdefault(where, set()).add(
                            f"{leaf.__module__}.{leaf.__qualname__}"
                        )
    assert unexported == {}, "export these types from a public module"
