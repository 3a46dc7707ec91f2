"""A conversation as the agent reads it: every message, and for each customer message what the bot understood.

Built from Rasa's tracker events: user events carry their parse data (intent, confidence, entities and the
VADER sentiment stored by bot.nlu.sentiment), bot events are the assistant's or an agent's replies (agent
replies carry `shopdesk_agent` in their metadata), and pause/resume mark the handoffs. The result is plain
JSON; the browser renders it with textContent, never as HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.handoff_triggers import HANDOFF_ACTION, sentiment_of

MAX_ITEMS = 500
AGENT_KEY = "shopdesk_agent"
MAX_DISPLAY_CHARS = 200


def _time(timestamp: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(timestamp), tz=UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return None


def sentiment_label(compound: float | None) -> str:
    if compound is None:
        return "unknown"
    if compound <= -0.6:
        return "angry"
    if compound <= -0.05:
        return "negative"
    return "positive" if compound >= 0.05 else "neutral"


def shown_text(text: str, metadata: dict[str, Any]) -> str:
    """What the bot processed. Only a button payload ("/affirm") shows the widget's `display_text` (the
    button's title, "Yes") instead: a client's display_text never stands in for free text the bot read.
    (web/transcript.py applies the same rule to the customer's history.)"""
    display = metadata.get("display_text")
    if text.startswith("/") and isinstance(display, str) and len(display) <= MAX_DISPLAY_CHARS:
        return display
    return text


def _user_item(event: dict[str, Any]) -> dict[str, Any]:
    parse_data = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
    intent = parse_data.get("intent") if isinstance(parse_data.get("intent"), dict) else {}
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    text = str(event.get("text") or "")
    shown = shown_text(text, metadata)
    compound = sentiment_of(parse_data)
    entities = [{"entity": str(e.get("entity", "")), "value": str(e.get("value", ""))}
                for e in parse_data.get("entities") or [] if isinstance(e, dict)]
    return {
        "kind": "customer",
        "text": shown,
        "payload": text if shown != text else None,  # what the bot processed, when a button title is shown
        "time": _time(event.get("timestamp")),
        "intent": str(intent.get("name") or ""),
        "confidence": round(float(intent.get("confidence") or 0.0), 3),
        "entities": entities,
        "sentiment": compound,
        "sentiment_label": sentiment_label(compound),
    }


def _bot_item(event: dict[str, Any]) -> dict[str, Any] | None:
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    text = str(event.get("text") or "")
    custom = data.get("custom")
    if not text and isinstance(custom, dict):
        text = str(custom.get("text") or "")
    buttons = [str(b.get("title", "")) for b in data.get("buttons") or [] if isinstance(b, dict)]
    if not text and not buttons:
        return None
    agent = metadata.get(AGENT_KEY)
    if agent == "system":
        return {"kind": "system", "text": text, "time": _time(event.get("timestamp"))}
    return {"kind": "agent" if agent else "bot", "author": str(agent) if agent else "assistant", "text": text,
            "buttons": buttons, "time": _time(event.get("timestamp"))}


def transcript(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            items.append(_user_item(event))
        elif kind == "bot":
            item = _bot_item(event)
            if item:
                items.append(item)
        elif kind == "pause":
            items.append({"kind": "system", "text": "Bot paused: waiting for an agent",
                          "time": _time(event.get("timestamp"))})
        elif kind == "resume":
            items.append({"kind": "system", "text": "Back with the bot", "time": _time(event.get("timestamp"))})
        elif kind == "action" and event.get("name") == HANDOFF_ACTION:
            items.append({"kind": "system", "text": "Handed over to a person",
                          "time": _time(event.get("timestamp"))})
        elif kind == "session_started":
            items.append({"kind": "system", "text": "New session", "time": _time(event.get("timestamp"))})
    return items[-MAX_ITEMS:]


def is_paused(events: list[dict[str, Any]]) -> bool:
    """Whether Rasa currently holds the bot back (the last pause/resume/restart/session event decides)."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == "pause":
            return True
        if kind in ("resume", "restart", "session_started"):
            return False
    return False


def latest_slot(events: list[dict[str, Any]], name: str) -> Any:
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
        if event.get("event") in ("restart", "session_started"):
            return None
    return None


def latest_user_metadata(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return metadata if isinstance(metadata, dict) else {}
    return {}
