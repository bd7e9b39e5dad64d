"""Paths of the wire that both sides must agree on and no flavour of server varies."""

from __future__ import annotations

OAUTH_TOKEN_PATH = "/realms/user-agent/protocol/openid-connect/token"  # noqa: S105 - a path
"""akaBot's OAuth2 token endpoint, relative to the platform's auth host (or to the base
URL of a local server, which serves it itself)."""
