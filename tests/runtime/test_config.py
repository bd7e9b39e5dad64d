"""credentials.json and CONDUCTOR_* -> Settings; every bad input names the file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.conductor import AKABOT, CONDUCTOR, OAuth2ClientCredentials, OrkesKey
from user_agent_sdk.config import ConfigError, derive_urls, load_settings

SECRET = "s3cr3t-value-never-shown"
TOKEN_PATH = "/realms/user-agent/protocol/openid-connect/token"


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_base_url_of_the_platform_derives_sub_domains() -> None:
    assert derive_urls("https://next.akabot.io") == (
        "https://external-api.next.akabot.io/api",
        f"https://auth.next.akabot.io{TOKEN_PATH}",
    )


@given(st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True))
def test_derivation_keeps_every_letter_of_the_host(host: str) -> None:
    # The reference SDK used str.lstrip("https://"), eating leading h, t, p, s letters.
    service, auth = derive_urls(f"https://{host}/")
    assert service == f"https://external-api.{host}/api"
    assert auth == f"https://auth.{host}{TOKEN_PATH}"


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "http://10.1.2.3"],
)
def test_a_local_or_ip_base_url_serves_both_paths_itself(base: str) -> None:
    root = base.rstrip("/")
    assert derive_urls(base) == (f"{root}/api", f"{root}{TOKEN_PATH}")


def test_credentials_file_gives_akabot_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "clientId": "me",
            "clientSecret": SECRET,
            "agentId": "A#user-agent",
            "baseUrl": "https://stage.example.com",
        },
    )
    settings = load_settings(path)
    assert settings.flavour == AKABOT
    assert settings.api_url == "https://external-api.stage.example.com/api"
    assert settings.agent_id == "A#user-agent"
    assert settings.credentials == OAuth2ClientCredentials(
        f"https://auth.stage.example.com{TOKEN_PATH}", "me", SECRET
    )
    assert SECRET not in repr(settings)


def test_without_base_url_the_platform_default_is_used(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, {"clientId": "me", "clientSecret": SECRET}))
    assert settings.api_url == "https://external-api.next.akabot.io/api"


def test_explicit_service_and_auth_urls_win(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "clientId": "me",
            "clientSecret": SECRET,
            "baseUrl": "https://ignored.example.com",
            "serviceUrl": "https://api.example.com/api/",
            "authUrl": "https://login.example.com/token",
        },
    )
    settings = load_settings(path)
    assert settings.api_url == "https://api.example.com/api"
    assert isinstance(settings.credentials, OAuth2ClientCredentials)
    assert settings.credentials.token_url == "https://login.example.com/token"


def test_credentials_json_of_the_working_directory_is_found(tmp_path: Path) -> None:
    write(tmp_path, {"clientId": "me", "clientSecret": SECRET, "baseUrl": "http://127.0.0.1:1"})
    settings = load_settings(cwd=tmp_path, env={"CONDUCTOR_SERVER_URL": "http://elsewhere:1/api"})
    assert settings.api_url == "http://127.0.0.1:1/api"


def test_conductor_environment_gives_conductor_settings(tmp_path: Path) -> None:
    env = {
        "CONDUCTOR_SERVER_URL": "http://conductor.example.com:8080",
        "CONDUCTOR_AUTH_KEY": "key",
        "CONDUCTOR_AUTH_SECRET": SECRET,
        "USERAGENT_AGENT_ID": "sum",
    }
    settings = load_settings(cwd=tmp_path, env=env)
    assert settings.flavour == CONDUCTOR
    assert settings.api_url == "http://conductor.example.com:8080/api"
    assert settings.credentials == OrkesKey("key", SECRET)
    assert settings.agent_id == "sum"
    assert SECRET not in repr(settings)


def test_conductor_without_auth_needs_no_credentials(tmp_path: Path) -> None:
    settings = load_settings(
        cwd=tmp_path, env={"CONDUCTOR_SERVER_URL": "http://127.0.0.1:8080/api"}
    )
    assert settings.credentials is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            r"credentials.json: not valid JSON: Expecting property name .* line 1, column 2",
        ),
        ("[1, 2]", "credentials.json: must be a JSON object .* got a JSON array"),
        ({"clientSecret": SECRET}, "credentials.json: field 'clientId' is missing"),
        ({"clientId": "me"}, "credentials.json: field 'clientSecret' is missing"),
        (
            {"clientId": 42, "clientSecret": SECRET},
            "field 'clientId' must be a string, got a JSON number",
        ),
        (
            {"clientId": "me", "clientSecret": 12345},
            "field 'clientSecret' must be a string, got a JSON number",
        ),
        ({"clientId": "me", "clientSecret": SECRET, "agentId": ""}, "field 'agentId' is empty"),
        (
            {"clientId": "me", "clientSecret": SECRET, "baseUrl": "next.akabot.io"},
            "field 'baseUrl' must be an http",
        ),
        (
            {"clientId": "me", "clientSecret": SECRET, "serviceUrl": "https://x.example.com/api"},
            "field 'authUrl' is missing",
        ),
    ],
)
def test_a_bad_credentials_file_is_one_error_naming_file_and_field(
    tmp_path: Path, content: Any, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(path)
    assert str(path) in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_secret_in_malformed_json_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, '{"clientId": "me", "clientSecret": "' + SECRET + '" "agentId": 1}')
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert SECRET not in str(raised.value)


def test_a_missing_file_given_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.json: no such file"):
        load_settings(tmp_path / "nope.json")


def test_no_configuration_at_all_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no credentials.json in .* \$CONDUCTOR_SERVER_URL is not set"
    ):
        load_settings(cwd=tmp_path, env={})


def test_half_an_orkes_key_is_an_error(tmp_path: Path) -> None:
    env = {"CONDUCTOR_SERVER_URL": "http://127.0.0.1:8080/api", "CONDUCTOR_AUTH_SECRET": SECRET}
    with pytest.raises(
        ConfigError, match=r"\$CONDUCTOR_AUTH_SECRET is set but \$CONDUCTOR_AUTH_KEY is not"
    ):
        load_settings(cwd=tmp_path, env=env)


def test_a_malformed_server_url_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$CONDUCTOR_SERVER_URL must be an http"):
        load_settings(cwd=tmp_path, env={"CONDUCTOR_SERVER_URL": "localhost:8080"})
