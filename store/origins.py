"""SHOPDESK_ALLOWED_ORIGINS: the shop pages that may embed the widget, read one way by both of its checks.

Rasa's socket.io channel (bot/channels/webchat.py, Python 3.10) and the web app's CORS (web/cross_origin.py,
Python 3.11) both read it, so a page is either allowed everywhere or nowhere. Stdlib only, like store/tokens.py,
because both environments import it.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

ENV = "SHOPDESK_ALLOWED_ORIGINS"


def allowed_origins(value: str | None = None) -> list[str] | str | None:
    """The configured origins (comma-separated, normalised): a list, "*" for any, or None for none.

    Never `[]`: python-socketio reads an empty list as "do not check origins at all".
    """
    raw = os.environ.get(ENV, "") if value is None else value
    origins = [normalise(o) for o in raw.split(",") if o.strip()]
    if "*" in origins:
        return "*"
    return origins or None


def normalise(origin: str) -> str:
    """`https://Shop.Example/` -> `https://shop.example`: browsers send Origin lower-case, without a slash."""
    origin = origin.strip().rstrip("/")
    return origin if origin == "*" else origin.lower()


def is_allowed(origin: str, allowed: list[str] | str | None) -> bool:
    if allowed == "*":
        return True
    return bool(allowed) and normalise(origin) in allowed


def invalid_origins(allowed: list[str] | str | None) -> list[str]:
    """Configured entries that are not `scheme://host[:port]` (a path, no scheme): never matched by a browser."""
    if not isinstance(allowed, list):
        return []
    bad = []
    for origin in allowed:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
            bad.append(origin)
    return bad
