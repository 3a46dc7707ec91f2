"""Words for agents instead of ids: channel names, intents and handoff reasons as people say them.

Shared by the queue cards, the conversation page and the review inbox, so the same id reads the same
everywhere. Unknown ids fall back to a tidied form of the id itself (never an empty label).
"""

from __future__ import annotations

import re

CHANNELS = {
    "socketio": "Web chat", "shopdesk_rest": "REST API", "rest": "REST API", "shopdesk_webhook": "Webhook",
    "telegram": "Telegram", "slack": "Slack", "facebook": "Facebook Messenger", "twilio": "SMS (Twilio)",
    "cmdline": "Terminal", "inspector": "Rasa inspector",
}
REASONS = {
    "requested": "Asked for a person",
    "misses": "The assistant did not understand",
    "sentiment": "Upset customer",
    "flow": "Needs a person to finish",
}
INTENTS = {  # where the tidied id would read oddly
    "contact_human_agent": "Talk to a person",
    "nlu_fallback": "Not understood",
    "out_of_scope": "Out of scope",
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "affirm": "Yes",
    "deny": "No",
}
_INTENT_IN_DETAIL = re.compile(r"\s*\(([a-z][a-z0-9_]*)\)\s*$")


def tidy(identifier: str) -> str:
    """'track_refund' -> 'Track refund'."""
    words = " ".join(identifier.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:]


def channel_name(channel: str) -> str:
    return CHANNELS.get(channel, tidy(channel)) if channel else "Unknown channel"


def intent_label(intent: str) -> str:
    return INTENTS.get(intent, tidy(intent)) if intent else ""


def reason_label(reason: str) -> str:
    return REASONS.get(reason, tidy(reason))


def detail_label(detail: str) -> tuple[str, str]:
    """(the handoff's detail without a trailing raw intent id, that intent as a label):
    'asked for a person (contact_human_agent)' -> ('asked for a person', 'Talk to a person')."""
    match = _INTENT_IN_DETAIL.search(detail or "")
    if not match:
        return (detail or "").strip(), ""
    return detail[:match.start()].strip(), intent_label(match.group(1))
