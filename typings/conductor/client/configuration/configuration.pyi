from conductor.client.configuration.settings.authentication_settings import (
    AuthenticationSettings,
)

class Configuration:
    host: str
    def __init__(
        self,
        base_url: str | None = None,
        debug: bool = False,
        authentication_settings: AuthenticationSettings | None = None,
        server_api_url: str | None = None,
        auth_token_ttl_min: int = 45,
        register_schema: bool | None = None,
        log_level: int | str | None = None,
    ) -> None: ...
