"""The console's settings from the environment (scripts/setup.sh's .env holds the secrets)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from bot.channels.client_ip import Network
from console import ConfigurationError
from store.db import database_url


def parse_networks(spec: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> networks (SHOPDESK_TRUSTED_PROXIES); anything else is a configuration error."""
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip())
    except ValueError as exc:
        raise ConfigurationError(f"SHOPDESK_TRUSTED_PROXIES: {exc}") from exc


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return {
        # The console's own key: a key the web app also holds must not sign agent sessions (FLASK_SECRET_KEY
        # is the web app's). create_app refuses a missing, short or shared one.
        "SECRET_KEY": env.get("SHOPDESK_CONSOLE_SECRET_KEY", ""),
        "CONSOLE_WEB_SECRET_KEY": env.get("FLASK_SECRET_KEY", ""),
        # Proxies whose X-Forwarded-For names the client (sign-in throttling); none by default.
        "CONSOLE_TRUSTED_PROXIES": parse_networks(env.get("SHOPDESK_TRUSTED_PROXIES", "")),
        "SHOPDESK_DATABASE_URL": env.get("SHOPDESK_DATABASE_URL") or database_url(),
        "SHOPDESK_RASA_URL": env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        "SHOPDESK_RASA_AUTH_TOKEN": env.get("RASA_AUTH_TOKEN", ""),
        "SHOPDESK_SIGNING_KEY": env.get("SHOPDESK_SIGNING_KEY", ""),
        "SHOPDESK_RASA_TIMEOUT_S": float(env.get("SHOPDESK_RASA_TIMEOUT_S", "5")),
        # Live views poll the database / Rasa this often; a stream ends after a while and the browser's
        # EventSource reconnects, so no request holds a worker forever.
        "CONSOLE_POLL_SECONDS": float(env.get("SHOPDESK_CONSOLE_POLL_SECONDS", "1.0")),
        "CONSOLE_STREAM_SECONDS": float(env.get("SHOPDESK_CONSOLE_STREAM_SECONDS", "300")),
        "CONSOLE_KNOWLEDGE": env.get("SHOPDESK_CONSOLE_KNOWLEDGE", "1").lower() not in {"0", "false", "no"},
        "SESSION_COOKIE_SECURE": env.get("SHOPDESK_COOKIE_SECURE", "").lower() in {"1", "true", "yes"},
    }
