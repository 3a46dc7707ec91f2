"""A minimal client for ShopDesk's REST channel (bot/channels/rest.py), used by the terminal chat, tests and
benchmarks. It calls the channel the way a shop's backend does: with `Authorization: Bearer
$SHOPDESK_REST_TOKEN` (from the environment, else the project's .env), and knows that the channel keeps
a sender's messages in the conversation `rest:<sender>` (what trackers, handoffs and tokens are keyed by).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests

REST_PATH = "/webhooks/shopdesk_rest/webhook"
CONVERSATION_PREFIX = "rest:"  # bot/channels/rest.py CONVERSATION_PREFIX
TOKEN_ENV = "SHOPDESK_REST_TOKEN"
CLIENT_HEADER = "X-ShopDesk-Client"
_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def conversation_id(sender: str) -> str:
    """The conversation id the REST channel gives `sender` (bind customer tokens to this, read trackers by it)."""
    return CONVERSATION_PREFIX + sender


def rest_token() -> str:
    """SHOPDESK_REST_TOKEN from the environment, else from the project's .env (scripts/setup.sh writes it)."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    if _ENV_FILE.exists():
        from dotenv import dotenv_values

        return dotenv_values(_ENV_FILE).get(TOKEN_ENV) or ""
    return ""


def rest_headers(token: str | None = None, client: str | None = None) -> dict[str, str]:
    """Headers of an authenticated REST call; `client` is the end customer's address, for throttling."""
    headers = {"Authorization": f"Bearer {token or rest_token()}"}
    if client:
        headers[CLIENT_HEADER] = client
    return headers


def post_message(rasa_url: str, sender: str, text: str, metadata: dict[str, Any] | None = None,
                 timeout: float = 60, token: str | None = None, client: str | None = None) -> requests.Response:
    """The raw response (for callers that look at status codes)."""
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    return requests.post(rasa_url + REST_PATH, json=body, headers=rest_headers(token, client), timeout=timeout)


def send_message(rasa_url: str, sender: str, text: str, metadata: dict[str, Any] | None = None,
                 timeout: float = 60, token: str | None = None, client: str | None = None) -> list[dict[str, Any]]:
    """The bot's messages for `text` from `sender`; raises for any non-2xx answer."""
    response = post_message(rasa_url, sender, text, metadata, timeout, token, client)
    response.raise_for_status()
    return response.json()


def render_for_terminal(message: dict[str, Any]) -> str:
    """Text plus numbered buttons and a plain-text version of custom payloads."""
    parts = [message.get("text") or ""]
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("text"):
        parts.append(str(custom["text"]))
    for i, button in enumerate(message.get("buttons") or [], start=1):
        parts.append(f"  [{i}] {button.get('title')}")
    if message.get("image"):
        parts.append(f"  (image: {message['image']})")
    return "\n".join(p for p in parts if p)
