"""Handing a conversation to a person: queue it for the agent console, tell the customer, pause the bot
only when someone can pick it up.

`action_handoff_to_human` runs when the customer asks for a person, after two misses in a row, after a
clearly angry message (all decided by `bot.policies.handoff.HandoffPolicy` with `bot.handoff_triggers`),
or when a flow declares it needs a human: such a flow returns `request_human("why")` from its action.
- An agent is online: the conversation waits in the queue and the action returns Rasa's own
  `ConversationPaused`; Rasa records the customer's messages, the channel acknowledges them ("you're number
  N", bot/channels/paused_reply.py) until an agent claims it, and the console resumes it afterwards.
- Nobody is online: pausing would leave the customer talking to no one. The handoff is queued as a message
  for the team (the customer's own words, shown in the console queue), the customer is told so, and the bot
  keeps answering; an agent who claims it later pauses the bot then (console.operations.claim).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import verified_customer_id
from actions.order_forms import FLOW_FORMS, FLOW_STATE_SLOTS
from bot.handoff_triggers import (
    HANDOFF_ACTION,
    KB_MISSES_SLOT,
    REASON_SLOT,
    Trigger,
    kb_trigger,
    message_trigger,
    user_turns_since_last_handoff,
)
from console.handoffs import HandoffDesk, QueueStatus
from shop_profile import current_profile
from shop_profile.wording import office_hours
from store.db import session_factory

logger = logging.getLogger(__name__)



@lru_cache(maxsize=1)
def handoff_desk() -> HandoffDesk:
    return HandoffDesk(session_factory())


def request_human(reason: str) -> list[EventType]:
    """Events a flow's action returns to hand the conversation to a person (needs slot `handoff_reason`)."""
    return [SlotSet(REASON_SLOT, reason[:200]), FollowupAction(HANDOFF_ACTION)]


def why(tracker: Tracker) -> Trigger:
    """The reason for this handoff, as the policy saw it; a flow's own reason otherwise."""
    flow_reason = tracker.get_slot(REASON_SLOT)
    if flow_reason:
        return Trigger("flow", str(flow_reason))
    knowledge_base = KB_MISSES_SLOT in (tracker.slots or {})
    found = message_trigger(user_turns_since_last_handoff(tracker.events), count_nlu_misses=not knowledge_base)
    if found is None and knowledge_base:
        found = kb_trigger(tracker.get_slot(KB_MISSES_SLOT))
    return found or Trigger("flow", "handed over by the conversation flow")


MESSAGE_FOR_TEAM = "Message for the team (no agent was online)"
MAX_WORDS_CHARS = 500


def customer_words(tracker: Tracker, turns: int = 3) -> str:
    """What the customer wrote lately (button payloads left out): the message the team reads in the queue."""
    texts = [t.text.strip() for t in user_turns_since_last_handoff(tracker.events or [])]
    texts = [t for t in texts if t and not t.startswith("/")][-turns:]
    if not texts:
        texts = [str((tracker.latest_message or {}).get("text") or "").strip()]
    return " / ".join(texts)[:MAX_WORDS_CHARS]


def customer_notice(status: QueueStatus, now: datetime | None = None) -> str:
    """What the customer reads after the handoff, in the shop's tone (shop.yml assistant.tone). With nobody
    online it says whether the team is out of its office hours (back when they open) or just busy now."""
    profile = current_profile()
    formal = profile.assistant.tone == "formal"
    if status.agents_online == 0:
        hours = office_hours(profile.office_hours)
        if profile.office_hours.is_open(now or datetime.now(UTC)):
            when = f"no one is online right now (they're available {hours}, but all busy or away at the moment)"
        else:
            when = f"no one is online right now: they're out of office hours (they're available {hours})"
        if formal:
            return (f"I have passed your message to our customer service team, but {when}. They will see what you "
                    f"wrote and reply when they are back; you may also email {profile.contact.email}. In the "
                    "meantime I am still here: I can track, cancel or change orders, start returns and answer "
                    "questions about the shop.")
        return (f"I've passed your message to our customer service team, but {when}. They'll see what you wrote "
                f"and get back to you when they're back; you can also email {profile.contact.email}. In the "
                "meantime I'm still here: I can track, cancel or change orders, start returns and answer "
                "questions about the shop.")
    minutes = status.expected_wait_minutes
    wait = "about 1 minute" if minutes == 1 else f"about {minutes} minutes"
    place = "next in line" if status.position <= 1 else f"number {status.position} in the queue"
    if formal:
        return (f"I am connecting you with a member of our customer service team. You are {place}; the expected "
                f"wait is {wait}. You may keep writing here: they will see everything you send.")
    return (f"I'm connecting you with a member of our customer service team. You're {place}; the expected "
            f"wait is {wait}. You can keep writing here: they'll see everything you send.")


def unreachable_notice() -> str:
    """The queue is down: the team's email and hours instead, in the shop's tone."""
    profile = current_profile()
    if profile.assistant.tone == "formal":
        return (f"I apologise, I cannot reach our team from here right now. Please email {profile.contact.email} "
                f"and they will reply to you ({office_hours(profile.office_hours)}).")
    return (f"Sorry, I can't reach our team from here right now. Please email {profile.contact.email} and they'll "
            f"get back to you ({office_hours(profile.office_hours)}).")


class ActionHandoffToHuman(Action):
    def name(self) -> str:
        return HANDOFF_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        trigger = why(tracker)
        try:
            desk = handoff_desk()
            offline = desk.agents_online() == 0
            detail = f"{MESSAGE_FOR_TEAM}: {trigger.detail}" if offline else trigger.detail
            handoff = desk.open_handoff(
                tracker.sender_id, trigger.reason, detail, channel=tracker.get_latest_input_channel() or "",
                customer_id=verified_customer_id(tracker), last_message=customer_words(tracker))
            status = desk.queue_status(handoff.id)
        except Exception:  # the queue is down: say so honestly and keep the bot answering
            logger.exception("Could not queue conversation %s for an agent", tracker.sender_id)
            dispatcher.utter_message(text=unreachable_notice())
            return self._reset(domain)
        dispatcher.utter_message(text=customer_notice(status))
        if status.agents_online == 0:  # nobody to wait for: the bot keeps helping, starting with the request
            flow = FLOW_FORMS.get(str(((tracker.latest_message or {}).get("intent") or {}).get("name") or ""))
            return self._reset(domain) + ([FollowupAction(flow)] if flow else [])
        return [*self._reset(domain), ConversationPaused()]

    @staticmethod
    def _reset(domain: DomainDict) -> list[EventType]:
        """A handoff ends any flow in progress (a person takes it from here, or the customer starts afresh):
        nothing it collected, least of all a pending "yes", survives into what comes next."""
        slots: dict[str, Any] = domain.get("slots") or {}
        events: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        events += [SlotSet(slot, None) for slot in FLOW_STATE_SLOTS if slot in slots]
        if KB_MISSES_SLOT in slots:
            events.append(SlotSet(KB_MISSES_SLOT, 0.0))
        if REASON_SLOT in slots:
            events.append(SlotSet(REASON_SLOT, None))
        return events
