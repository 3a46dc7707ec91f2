"""How to reach the shop's people ("can I call you?", "what are your opening hours?"): answered, not handed over.

A customer asking for the phone number wants the phone number; queueing them for an agent instead (as the
old rule did) answered nothing and, at night, paused the chat with nobody on the other side. The facts come
from the shop profile (shop.yml), which agrees with the shop's contact page (tests/console/test_triggers.py
keeps the demo shop's in step); whether someone is online right now comes from the agent console's queue, so
the offer of a person is honest.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import handoff_desk
from shop_profile import ShopProfile, current_profile
from shop_profile.wording import office_hours, phones

logger = logging.getLogger(__name__)

SOURCE = "Contact us & opening hours"
A_PERSON = {"title": "Talk to a person", "payload": "/contact_human_agent"}


def contact_details(agents_online: int | None, profile: ShopProfile | None = None) -> str:
    profile = profile or current_profile()
    hours = profile.office_hours
    lines = [
        "You can reach our customer service team:",
        f"- Phone: {phones(profile)}, {office_hours(hours)}",
        f"- Email: {profile.contact.email}, answered within {profile.contact.email_reply_within}",
        "- Chat: right here; I can connect you to a person during opening hours",
    ]
    if agents_online:
        lines.append("Someone from the team is online now: shall I connect you?")
    elif agents_online == 0:
        closed = f" ({hours.closed_note})" if hours.closed_note else ""
        lines.append(f"No one is online right now{closed}, but I can leave a message for the team, and I can "
                     "help with orders, returns and questions myself.")
    else:
        lines.append("Would you like me to connect you to a person?")
    lines.append(f"Source: {SOURCE}")
    return "\n".join(lines)


class ActionContactDetails(Action):
    def name(self) -> str:
        return "action_contact_details"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            online: int | None = handoff_desk().agents_online()
        except Exception:  # the queue is unreachable: the contact details still help
            logger.exception("Could not read the agent queue")
            online = None
        button = {**A_PERSON, "title": "Leave a message for the team"} if online == 0 else A_PERSON
        dispatcher.utter_message(text=contact_details(online), buttons=[button])
        return []
