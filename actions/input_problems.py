"""A clear answer for messages the NLU guard refused to interpret (see bot/nlu/input_guard.py)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import MISSES_SLOT, misses_in_a_row
from shop_profile import current_profile
from shop_profile.wording import office_hours

REPLIES = {
    "empty": "I didn't get any text there. What can I help you with?",
    "too_long": "That message is too long for me to read reliably. Could you put your question in a few "
                "sentences (under 2,000 characters)?",
    "binary": "That looks like a file or garbled text rather than a message. Please type your question, or "
              "attach photos with the paperclip in the chat window.",
}


def reply_for(problem: str | None) -> str:
    if problem == "language":
        profile = current_profile()
        return ("Sorry, I can only help in English for now. Our team can help in other languages: "
                f"{profile.contact.email} ({office_hours(profile.office_hours)}).")
    return REPLIES.get(problem or "", "Sorry, I couldn't read that message. Could you rephrase it?")


class ActionExplainInvalidInput(Action):
    def name(self) -> str:
        return "action_explain_invalid_input"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        problem = (tracker.latest_message or {}).get("input_problem")
        dispatcher.utter_message(text=reply_for(problem))
        if problem is None:  # the NLU found no words in it (keyboard mash): a miss, like an unanswerable question
            return [SlotSet(MISSES_SLOT, float(misses_in_a_row(tracker) + 1))]
        return []
