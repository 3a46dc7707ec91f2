"""What the widget shows around the messages: the shop's welcome, and who the shopper is talking to.

The welcome (text and starter quick replies) greets a shopper who opens an empty conversation, before they
type anything; it is the shop profile's wording, shown by the widget only (it is not a message in the
conversation). The handoff state is read from the agents' queue (console/handoffs.py, same database): a
conversation waiting for a person gets its real place in the queue and the queue's own wait estimate, one an
agent holds gets that agent's display name. Nothing else about agents or the queue leaves the server.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from console.handoffs import HandoffDesk
from console.models import HandoffStatus
from shop_profile import current_profile
from shop_profile.wording import greeting, office_hours

# The same intents utter_greet's buttons start (domain.yml), plus a person and gift ideas.
STARTERS = (
    ("Where is my order?", "/track_order"),
    ("Return something", "/get_refund"),
    ("Gift ideas", "/recommend_product"),
    ("Talk to a person", "/contact_human_agent"),
)


def welcome() -> dict[str, Any]:
    profile = current_profile()
    text = (f"{greeting(profile)} I'm {profile.assistant.name}, the {profile.shop_name} assistant. I can track, "
            "cancel or change orders, start returns and answer questions about the shop. What can I do for you?")
    return {"text": text, "assistant": profile.assistant.name,
            "quick_replies": [{"title": title, "payload": payload} for title, payload in STARTERS]}


def handoff_state(sessions: sessionmaker[Session], conversation_id: str) -> dict[str, Any]:
    """`{"state": "bot"}`, `{"state": "waiting", position, agents_online, wait_minutes, office_hours}` or
    `{"state": "agent", "agent": {"name"}}` for this conversation."""
    desk = HandoffDesk(sessions)
    handoff = desk.open_for_conversation(conversation_id)
    if handoff is None:
        return {"state": "bot"}
    if handoff.status == HandoffStatus.CLAIMED:
        return {"state": "agent", "agent": {"name": handoff.claimed_by_name or "Customer service"}}
    status = desk.queue_status(handoff.id)
    return {"state": "waiting", "position": status.position, "agents_online": status.agents_online,
            "wait_minutes": status.expected_wait_minutes,
            "office_hours": office_hours(current_profile().office_hours)}
