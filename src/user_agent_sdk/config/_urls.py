"""akaBot's URL scheme: one ``baseUrl`` names the task API and the token endpoint."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ..models import OAUTH_TOKEN_PATH


def derive_urls(base_url: str) -> tuple[str, str]:
    """``(serviceUrl, authUrl)`` for a platform ``baseUrl``.

    A platform host gets the sub-domains ``external-api.`` and ``auth.``::

        >>> derive_urls("https://next.akabot.io")
        ('https://external-api.next.akabot.io/api', 'https://auth.next.akabot.io/realms/user-agent/protocol/openid-connect/token')

    A local server (loopback, a plain IP address, a single-label host name such as a
    container's) has no such sub-domains, so both live under the base URL itself::

        >>> derive_urls("http://127.0.0.1:8080")
        ('http://127.0.0.1:8080/api', 'http://127.0.0.1:8080/realms/user-agent/protocol/openid-connect/token')

    Raises ValueError when ``base_url`` is not an http(s) URL with a host.
    """
    parts = urlsplit(base_url.strip())
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"must be an http(s) URL such as https://next.akabot.io, got {base_url!r}")
    path = parts.path.rstrip("/")
    if is_local_host(host):
        root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return f"{root}/api", f"{root}{OAUTH_TOKEN_PATH}"
    port = f":{parts.port}" if parts.port is not None else ""

    def sub_domain(name: str, suffix: str) -> str:
        return urlunsplit((parts.scheme, f"{name}.{host}{port}", path + suffix, "", ""))

    return sub_domain("external-api", "/api"), sub_domain("auth", OAUTH_TOKEN_PATH)


def is_local_host(host: str) -> bool:
    """True for hosts that cannot have platform sub-domains: loopback, IPs, single labels."""
    if host == "localhost" or host.endswith(".localhost") or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_http_url(url: str) -> str:
    """``url`` without a trailing slash; ValueError unless it is an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL, got {url!r}")
    return url.strip().rstrip("/")
