"""When a conversation should go to a person, decided from its recent messages. Pure Python, no Rasa import.

Shared by the Rasa-side `bot.policies.handoff.HandoffPolicy` (which decides to run the handoff action) and
the action server's `action_handoff_to_human` (which records why), so both always agree. They work on
the conversation's events in Rasa's JSON shape (`tracker.current_state()["events"]` / rasa-sdk's
`tracker.events`), so the same code serves both interpreters.

Triggers, in order:
- the customer asks for a person (`contact_human_agent`; asking how to contact customer service,
  `contact_customer_service`, is answered with the contact details by action_contact_details instead);
- clearly negative sentiment / anger (VADER compound score, computed per message by
  `bot.nlu.sentiment.SentimentAnalyzer` and stored in the message's parse data);
- two misses in a row: the knowledge base's `kb_misses` slot reaching 2 (actions/knowledge.py counts the
  questions it could not answer); in a domain without that slot, two consecutive messages the NLU could
  not place (`nlu_fallback`, `out_of_scope`), as nothing else would try to answer them.
Only messages since the last handoff, resume, restart or new session count, so a conversation handed back
to the bot starts with a clean slate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HANDOFF_ACTION = "action_handoff_to_human"
REQUEST_INTENTS = frozenset({"contact_human_agent"})
MISS_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
SENTIMENT_KEY = "sentiment"
KB_MISSES_SLOT = "kb_misses"
REASON_SLOT = "handoff_reason"
# VADER's compound score is in [-1, 1]; -0.05 is its own "negative" cut-off. -0.6 keeps ordinary
# complaints ("my parcel arrived damaged": -0.44) with the bot and catches anger and insults.
ANGER_THRESHOLD = -0.6
_EPISODE_BOUNDARIES = frozenset({"resume", "restart", "session_started"})


@dataclass(frozen=True)
class Trigger:
    reason: str  # requested | sentiment | misses (console.models.HandoffReason)
    detail: str


@dataclass(frozen=True)
class UserTurn:
    text: str
    intent: str
    confidence: float
    sentiment: float | None


def sentiment_of(parse_data: Mapping[str, Any] | None) -> float | None:
    """The compound sentiment stored with a message, if any."""
    value = (parse_data or {}).get(SENTIMENT_KEY)
    if isinstance(value, Mapping):
        value = value.get("compound")
    return float(value) if isinstance(value, int | float) else None


def user_turns_since_last_handoff(events: Iterable[Mapping[str, Any]]) -> list[UserTurn]:
    """User messages after the last handoff / resume / restart / new session, oldest first."""
    turns: list[UserTurn] = []
    for event in events:
        kind = event.get("event")
        if kind in _EPISODE_BOUNDARIES or (kind == "action" and event.get("name") == HANDOFF_ACTION):
            turns = []
        elif kind == "user":
            parse_data = event.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            turns.append(UserTurn(text=str(event.get("text") or ""), intent=str(intent.get("name") or ""),
                                  confidence=float(intent.get("confidence") or 0.0),
                                  sentiment=sentiment_of(parse_data)))
    return turns


def message_trigger(turns: list[UserTurn], count_nlu_misses: bool = True) -> Trigger | None:
    """Why the latest user message calls for a person, or None.

    `count_nlu_misses=False` when the knowledge base answers NLU misses (it counts its own misses).
    """
    if not turns:
        return None
    latest = turns[-1]
    if latest.intent in REQUEST_INTENTS:
        return Trigger("requested", f"asked for a person ({latest.intent})")
    if latest.sentiment is not None and latest.sentiment <= ANGER_THRESHOLD:
        return Trigger("sentiment", f"clearly negative message (sentiment {latest.sentiment:+.2f})")
    if count_nlu_misses and len(turns) >= 2 and all(t.intent in MISS_INTENTS for t in turns[-2:]):
        return Trigger("misses", "two messages in a row the assistant could not understand")
    return None


def kb_trigger(kb_misses: Any) -> Trigger | None:
    try:
        misses = float(kb_misses) if kb_misses not in (None, "") else 0.0
    except (TypeError, ValueError):
        return None
    if misses >= 2:
        return Trigger("misses", "the knowledge base could not answer twice in a row")
    return None
