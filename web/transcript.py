"""A conversation's transcript for the widget, read from Rasa's tracker with the server-side API token.

Only what the customer saw is returned (their messages and the bot's, an agent's with the agent's name),
in the widget's message shape; intents, slots, actions and metadata other than what renders a message never
leave the server.
"""

from __future__ import annotations

from typing import Any

import requests

MAX_MESSAGES = 300
UPLOAD_PREFIX = "/uploads/"
MAX_DISPLAY_CHARS = 200
AGENT_KEY = "shopdesk_agent"  # bot-event metadata the console sets: an agent's display name, or "system"
MAX_AGENT_CHARS = 80


class TranscriptUnavailable(Exception):
    """Rasa could not be asked (down, timed out, refused the token)."""


def fetch_events(rasa_url: str, token: str, conversation_id: str, timeout_s: float) -> list[dict[str, Any]]:
    params = {"include_events": "ALL"}
    if token:
        params["token"] = token
    try:
        response = requests.get(f"{rasa_url}/conversations/{conversation_id}/tracker", params=params,
                                timeout=timeout_s)
    except requests.RequestException as exc:
        raise TranscriptUnavailable(f"Rasa is not reachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise TranscriptUnavailable(f"Rasa answered HTTP {response.status_code}")
    events = response.json().get("events") or []
    return [e for e in events if isinstance(e, dict)]


def transcript(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User and bot messages in the widget's shape, oldest first, at most MAX_MESSAGES."""
    messages = []
    for event in events:
        if event.get("event") == "user":
            messages.append(_user_message(event))
        elif event.get("event") == "bot":
            messages.extend(_bot_messages(event))
    return [m for m in messages if m][-MAX_MESSAGES:]


def shown_text(text: str, metadata: dict[str, Any]) -> str:
    """What the bot processed. Only a button payload ("/affirm") shows the widget's `display_text` (the
    button's title, "Yes") instead: a client's display_text never stands in for free text the bot read.
    (console/transcript.py applies the same rule to what agents read.)"""
    display = metadata.get("display_text")
    if text.startswith("/") and isinstance(display, str) and len(display) <= MAX_DISPLAY_CHARS:
        return display
    return text


def agent_of(metadata: Any) -> str | None:
    """Who from the team said a bot event: an agent's display name, "system" for the console's notices
    (joined, handed back), None for the assistant. (bot/channels/webchat.py reads the same key live.)"""
    name = metadata.get(AGENT_KEY) if isinstance(metadata, dict) else None
    return name.strip()[:MAX_AGENT_CHARS] if isinstance(name, str) and name.strip() else None


def _user_message(event: dict[str, Any]) -> dict[str, Any]:
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    message: dict[str, Any] = {
        "role": "user",
        "text": shown_text(str(event.get("text") or ""), metadata),
        "message_id": event.get("message_id"),
        "timestamp": event.get("timestamp"),
    }
    attachment = metadata.get("attachment")
    if isinstance(attachment, dict) and str(attachment.get("url", "")).startswith(UPLOAD_PREFIX):
        message["image"] = attachment["url"]
    return message


def _bot_messages(event: dict[str, Any]) -> list[dict[str, Any]]:
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    base = {"role": "bot", "timestamp": event.get("timestamp")}
    message: dict[str, Any] = dict(base, text=event.get("text") or "")
    agent = agent_of(event.get("metadata"))
    if agent:
        message["agent"] = agent
    buttons = data.get("buttons") or data.get("quick_replies") or []
    if isinstance(buttons, list):
        message["buttons"] = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                              for b in buttons if isinstance(b, dict)]
    image = data.get("image")
    attachment = data.get("attachment")
    if not image and isinstance(attachment, dict) and isinstance(attachment.get("payload"), dict):
        image = attachment["payload"].get("src")
    if isinstance(image, str) and image:
        message["image"] = image
    custom = data.get("custom")
    if isinstance(custom, dict):
        message["custom"] = custom
    if not (message["text"] or message.get("buttons") or message.get("image") or message.get("custom")):
        return []
    return [message]
