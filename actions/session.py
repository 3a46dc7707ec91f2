"""A new conversation session learns the shop's words: `action_session_start` sets the profile slots.

Responses that rules send directly (utter_greet, utter_goodbye, utter_iamabot) name the shop and its
assistant through slots ({shop_name}, {assistant_name}, {greeting}, {farewell}), and pick their formal or
friendly variant by the `tone` slot (domain.yml `condition`s on shop.yml assistant.tone); this sets them from
shop.yml at the start of every session, so a changed profile reaches new conversations without retraining. Otherwise
it does what Rasa's default session start does: a `session_started` event, then listen (the domain carries
no slots over between sessions).
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from shop_profile import current_profile
from shop_profile.wording import session_values


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots = (domain or {}).get("slots") or {}
        events: list[EventType] = [SessionStarted()]
        if (domain or {}).get("session_config", {}).get("carry_over_slots_to_new_session"):
            events += [SlotSet(name, value) for name, value in (tracker.slots or {}).items()
                       if value is not None and name not in ("requested_slot", "session_started_metadata")]
        events += [SlotSet(name, value) for name, value in session_values(current_profile()).items()
                   if name in slots]
        return [*events, ActionExecuted("action_listen")]
