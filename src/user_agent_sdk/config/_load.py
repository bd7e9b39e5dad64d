"""``credentials.json`` and the ``CONDUCTOR_*`` variables -> :class:`Settings`.

Outside data is checked here, once: a missing file, bad JSON, a missing field or a
wrong type is a :class:`ConfigError` naming the file and the field. Values of secret
fields never appear in a message, only their names.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import UserAgentError
from ..conductor import (
    AKABOT,
    CONDUCTOR,
    OAuth2ClientCredentials,
    OrkesKey,
)
from ..transport._failures import tls_context
from ._settings import Settings
from ._urls import check_http_url, derive_urls

CREDENTIALS_FILE = "credentials.json"
DEFAULT_BASE_URL = "https://next.akabot.io"
AGENT_ID_ENV = "USERAGENT_AGENT_ID"
"""The default agent id when the settings come from ``CONDUCTOR_SERVER_URL``."""
CA_BUNDLE_ENV = "USERAGENT_CA_BUNDLE"
"""A PEM file of CAs to trust for https, when ``credentials.json`` names no ``caBundle``."""


class ConfigError(UserAgentError):
    """The configuration cannot be used; the message names the file or variable and the field."""


def load_settings(
    config_file: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Settings from the first source that exists.

    1. ``config_file`` when given (``useragent run -c FILE``): it must exist;
    2. ``credentials.json`` in ``cwd`` (default: the working directory): akaBot;
    3. ``$CONDUCTOR_SERVER_URL`` (+ ``$CONDUCTOR_AUTH_KEY``/``$CONDUCTOR_AUTH_SECRET``):
       a plain Conductor server.
    """
    env = os.environ if env is None else env
    if config_file is not None:
        return settings_from_credentials_file(config_file, env)
    default = (cwd or Path.cwd()) / CREDENTIALS_FILE
    if default.is_file():
        return settings_from_credentials_file(default, env)
    if env.get("CONDUCTOR_SERVER_URL"):
        return settings_from_env(env)
    raise ConfigError(
        f"no {CREDENTIALS_FILE} in {default.parent} and $CONDUCTOR_SERVER_URL is not set: "
        f"download credentials.json from the akaBot 2.0 Workflow Builder into this directory, "
        f"pass -c FILE, or set CONDUCTOR_SERVER_URL for a Conductor server"
    )


def settings_from_credentials_file(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Settings for akaBot from a ``credentials.json``.

    Fields: ``clientId``, ``clientSecret`` (required); ``agentId``; ``baseUrl`` (default
    https://next.akabot.io, from which the API and token URLs are derived); or the older
    ``serviceUrl`` + ``authUrl``, which win when present; ``caBundle``, a PEM file of CAs
    to trust for https (relative to the file's directory; default ``$USERAGENT_CA_BUNDLE``).
    """
    env = os.environ if env is None else env
    data = _read_object(path)
    fields = _Fields(data, str(path))
    bundle = fields.optional_text("caBundle")
    ca_bundle: str | None
    if bundle is not None:
        ca_bundle = _ca_bundle(path.parent / bundle, f"{path}: field 'caBundle'")
    else:
        ca_bundle = _ca_bundle_from_env(env)
    client_id = fields.text("clientId")
    client_secret = fields.text("clientSecret")
    agent_id = fields.optional_text("agentId")
    service_url = fields.optional_text("serviceUrl")
    auth_url = fields.optional_text("authUrl")
    if (service_url is None) != (auth_url is None):
        missing = "authUrl" if auth_url is None else "serviceUrl"
        raise ConfigError(
            f"{path}: field {missing!r} is missing (serviceUrl and authUrl go together)"
        )
    if service_url is not None and auth_url is not None:
        api_url = fields.url("serviceUrl", service_url)
        token_url = fields.url("authUrl", auth_url)
    else:
        base_url = fields.optional_text("baseUrl") or DEFAULT_BASE_URL
        try:
            api_url, token_url = derive_urls(base_url)
        except ValueError as exc:
            raise ConfigError(f"{path}: field 'baseUrl' {exc}") from None
    return Settings(
        api_url=api_url,
        flavour=AKABOT,
        credentials=OAuth2ClientCredentials(token_url, client_id, client_secret),
        agent_id=agent_id,
        ca_bundle=ca_bundle,
        source=str(path),
    )


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a plain Conductor server from the ecosystem's variables.

    ``CONDUCTOR_SERVER_URL`` (the ``/api`` root; ``/api`` is added when missing),
    optionally ``CONDUCTOR_AUTH_KEY`` with ``CONDUCTOR_AUTH_SECRET`` (Orkes tokens), and
    ``USERAGENT_AGENT_ID``, the agent id of agents registered without one, and
    ``USERAGENT_CA_BUNDLE``, a PEM file of CAs to trust for https.
    """
    env = os.environ if env is None else env
    raw = env.get("CONDUCTOR_SERVER_URL", "")
    try:
        url = check_http_url(raw)
    except ValueError as exc:
        raise ConfigError(f"$CONDUCTOR_SERVER_URL {exc}") from None
    api_url = url if url.endswith("/api") else f"{url}/api"
    key, secret = env.get("CONDUCTOR_AUTH_KEY") or None, env.get("CONDUCTOR_AUTH_SECRET") or None
    if (key is None) != (secret is None):
        present, absent = (
            ("CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET")
            if secret is None
            else ("CONDUCTOR_AUTH_SECRET", "CONDUCTOR_AUTH_KEY")
        )
        raise ConfigError(f"${present} is set but ${absent} is not: set both or neither")
    return Settings(
        api_url=api_url,
        flavour=CONDUCTOR,
        credentials=None if key is None or secret is None else OrkesKey(key, secret),
        agent_id=env.get(AGENT_ID_ENV) or None,
        ca_bundle=_ca_bundle_from_env(env),
        source="$CONDUCTOR_SERVER_URL",
    )


def _ca_bundle_from_env(env: Mapping[str, str]) -> str | None:
    value = env.get(CA_BUNDLE_ENV, "").strip()
    return _ca_bundle(Path(value), f"${CA_BUNDLE_ENV}") if value else None


def _ca_bundle(path: Path, origin: str) -> str:
    """``path`` made absolute, once it is known to hold PEM certificates."""
    try:
        tls_context(str(path))
    except FileNotFoundError:
        raise ConfigError(
            f"{origin}: {path}: no such file (a PEM file of CA certificates)"
        ) from None
    except ssl.SSLError:  # before OSError, of which it is a kind
        raise ConfigError(
            f"{origin}: {path}: holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{origin}: {path}: cannot read it: {exc.strerror or exc}") from None
    return str(path.resolve())


def _read_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (download credentials.json from the akaBot 2.0 "
            f"Workflow Builder, or pass -c FILE)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read it: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the text itself may hold the secret.
        raise ConfigError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: must be a JSON object with clientId, clientSecret and agentId, "
            f"got a JSON {_json_type(data)}"
        )
    return data


class _Fields:
    """Typed access to the fields of one JSON object, with errors naming the field."""

    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self._data = data
        self._origin = origin

    def text(self, name: str) -> str:
        value = self.optional_text(name)
        if value is None:
            raise ConfigError(f"{self._origin}: field {name!r} is missing")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(
                f"{self._origin}: field {name!r} must be a string, got a JSON {_json_type(value)}"
            )
        if not value.strip():
            raise ConfigError(f"{self._origin}: field {name!r} is empty")
        return value.strip()

    def url(self, name: str, value: str) -> str:
        try:
            return check_http_url(value)
        except ValueError as exc:
            raise ConfigError(f"{self._origin}: field {name!r} {exc}") from None


def _json_type(value: object) -> str:
    match value:
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case dict():
            return "object"
        case _:
            return "null"
