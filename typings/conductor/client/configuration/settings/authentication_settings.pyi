class AuthenticationSettings:
    key_id: str
    key_secret: str
    def __init__(self, key_id: str, key_secret: str) -> None: ...
