"""A minimal client for ShopDesk's REST channel (bot/channels/rest.py), used by the terminal chat and tests."""

from __future__ import annotations

from typing import Any

import requests

REST_PATH = "/webhooks/shopdesk_rest/webhook"


def send_message(rasa_url: str, sender: str, text: str, metadata: dict[str, Any] | None = None,
                 timeout: float = 60) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    response = requests.post(rasa_url + REST_PATH, json=body, timeout=timeout)
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
