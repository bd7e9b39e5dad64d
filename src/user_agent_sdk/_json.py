"""The one compact JSON encoder the server, the client and the store share."""

from __future__ import annotations

import json

COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""No spaces, UTF-8 left as it is. Built once: ``json.dumps`` with any option set builds a
new encoder on every call."""
