"""Where the runtime connects and as whom: ``credentials.json``, ``CONDUCTOR_*`` or code.

Everything ends up in one frozen :class:`Settings`; every problem in the inputs is a
:class:`ConfigError` whose message names the file (or variable) and the field.
"""

from ..models import OAUTH_TOKEN_PATH
from ._load import (
    AGENT_ID_ENV,
    CA_BUNDLE_ENV,
    CREDENTIALS_FILE,
    DEFAULT_BASE_URL,
    ConfigError,
    load_settings,
    settings_from_credentials_file,
    settings_from_env,
)
from ._settings import EVENT_LOOPS, Settings
from ._urls import derive_urls

__all__ = [
    "AGENT_ID_ENV",
    "CA_BUNDLE_ENV",
    "CREDENTIALS_FILE",
    "DEFAULT_BASE_URL",
    "EVENT_LOOPS",
    "OAUTH_TOKEN_PATH",
    "ConfigError",
    "Settings",
    "derive_urls",
    "load_settings",
    "settings_from_credentials_file",
    "settings_from_env",
]
