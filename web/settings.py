"""The web app's settings, read from the environment once at start-up (the lead's scripts load .env)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from store.db import PROJECT_ROOT, database_url
from store.origins import allowed_origins

MODES = ("production", "demo")

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys for ShopDesk, from SHOPDESK_* / RASA_* / FLASK_* variables."""
    env = os.environ if environ is None else environ
    rasa_url = env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
    return {
        "SECRET_KEY": env.get("FLASK_SECRET_KEY", ""),
        "SHOPDESK_DATABASE_URL": env.get("SHOPDESK_DATABASE_URL") or database_url(),
        "SHOPDESK_RASA_URL": rasa_url,
        # The address browsers use for Rasa's socket.io channel; differs from RASA_URL behind a proxy.
        "SHOPDESK_RASA_PUBLIC_URL": env.get("SHOPDESK_RASA_PUBLIC_URL", rasa_url).rstrip("/"),
        "SHOPDESK_RASA_SOCKET_PATH": env.get("SHOPDESK_RASA_SOCKET_PATH", "/socket.io/"),
        "SHOPDESK_RASA_AUTH_TOKEN": env.get("RASA_AUTH_TOKEN", ""),
        "SHOPDESK_SIGNING_KEY": env.get("SHOPDESK_SIGNING_KEY", ""),
        "SHOPDESK_UPLOAD_DIR": env.get("SHOPDESK_UPLOAD_DIR", str(PROJECT_ROOT / "var" / "uploads")),
        "SHOPDESK_MAX_UPLOAD_BYTES": int(env.get("SHOPDESK_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES)),
        "SHOPDESK_MAX_ATTACHMENTS_PER_CONVERSATION": 20,
        # Per client address across all its conversations (a new conversation does not reset it).
        "SHOPDESK_MAX_ATTACHMENTS_PER_CLIENT": int(env.get("SHOPDESK_MAX_ATTACHMENTS_PER_CLIENT", "20")),
        "SHOPDESK_ATTACHMENT_QUOTA_WINDOW_S": int(env.get("SHOPDESK_ATTACHMENT_QUOTA_WINDOW_S", str(24 * 3600))),
        "SHOPDESK_RASA_TIMEOUT_S": float(env.get("SHOPDESK_RASA_TIMEOUT_S", "5")),
        "SESSION_COOKIE_SECURE": env.get("SHOPDESK_COOKIE_SECURE", "").lower() in {"1", "true", "yes"},
        # production: the widget API and script only; demo (make demo): also the demo storefront and its sign-in.
        "SHOPDESK_MODE": env.get("SHOPDESK_MODE", "production").strip().lower(),
        # Shop pages allowed to use the widget (CORS here, socket.io in Rasa): the same variable for both.
        "SHOPDESK_ALLOWED_ORIGINS": allowed_origins(env.get("SHOPDESK_ALLOWED_ORIGINS", "")),
        # Shared with the shop's backend, which signs its customers' identity tokens with it (web/shop_identity.py).
        "SHOPDESK_IDENTITY_SECRET": env.get("SHOPDESK_IDENTITY_SECRET", ""),
    }
