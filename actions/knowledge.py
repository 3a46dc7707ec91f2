"""Answering questions no intent covers from the shop's own documents (knowledge/), with the source named.

Runs for `nlu_fallback` and `out_of_scope` messages. Below the knowledge base's relevance threshold it says
it is not sure and offers a person; the `kb_misses` slot counts misses in a row (reset by an answer), and
at two the handoff policy (bot.policies.handoff) hands the conversation to a person. The embedding model
and the knowledge base are loaded once per action-server process (knowledge.retrieval.get_retriever).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.message_parsing import emails, order_numbers
from actions.other_requests import follow_up
from actions.which_order import ActionOrderContext
from knowledge.answers import Answer, answer_question

logger = logging.getLogger(__name__)

ACTION_NAME = "action_answer_from_knowledge"
MISSES_SLOT = "kb_misses"
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}
NOT_SURE = (
    "I'm not sure about that: I couldn't find it in our help pages, and I'd rather not guess. "
    "Could you rephrase it, or would you like to talk to a person?"
)
STILL_NOT_SURE = (
    "Sorry, I couldn't find that in our help pages either. Someone from our customer service team can "
    "help you with this."
)
UNAVAILABLE = (
    "Sorry, I can't look that up right now because our help pages aren't available to me. "
    "Would you like to talk to a person?"
)


# Actions whose replies are "I couldn't help with that": they count misses in the same `kb_misses` slot.
MISS_COUNTING_ACTIONS = frozenset({ACTION_NAME, "action_explain_invalid_input"})


def misses_in_a_row(tracker: Tracker) -> int:
    """Misses before this message that count: only when a miss-counting action answered the previous message."""
    if not _previous_turn_ran(tracker, MISS_COUNTING_ACTIONS):
        return 0
    try:
        return max(0, int(float(tracker.get_slot(MISSES_SLOT) or 0)))
    except (TypeError, ValueError):
        return 0


def _previous_turn_ran(tracker: Tracker, actions: frozenset[str]) -> bool:
    """Did one of `actions` run between the previous user message and the latest one?"""
    users_seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users_seen += 1
            if users_seen == 2:
                return False
        elif kind == "action" and users_seen == 1 and event.get("name") in actions:
            return True
    return False


def reply_for(answer: Answer, misses: int) -> tuple[dict[str, Any], int]:
    """The message to send and the new number of misses in a row."""
    if answer.found:
        return {"text": f"{answer.text}\n\n{answer.citation}"}, 0
    misses += 1
    if answer.unavailable:
        return {"text": UNAVAILABLE, "buttons": [HUMAN_BUTTON]}, misses
    return {"text": STILL_NOT_SURE if misses >= 2 else NOT_SURE, "buttons": [HUMAN_BUTTON]}, misses


async def answer_latest_message(tracker: Tracker) -> Answer:
    """The knowledge base's answer to the latest message; a failing lookup is `unavailable`, never an exception."""
    question = str((tracker.latest_message or {}).get("text") or "").strip()
    if not question or question.startswith("/"):  # a button payload has no words to look up
        return Answer(found=False)
    try:
        answer = await asyncio.to_thread(answer_question, question)
    except Exception:  # never let a knowledge-base problem crash the conversation
        logger.exception("knowledge base lookup failed")
        answer = Answer(found=False, unavailable="lookup failed")
    if answer.unavailable:
        logger.warning("knowledge base unavailable: %s", answer.unavailable)
    return answer


class ActionAnswerFromKnowledge(Action):
    """Answer the latest message from the knowledge base, or say honestly that it can't."""

    def name(self) -> str:
        return ACTION_NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        misses = misses_in_a_row(tracker)
        answer = await answer_latest_message(tracker)
        latest = tracker.latest_message or {}
        if not answer.found and not (tracker.active_loop or {}).get("name") and \
                (order_numbers(latest) or emails(latest)):
            # "@shop 581163 never came!!": not in the help pages, but it names an order: take it up from there
            return ActionOrderContext().run(dispatcher, tracker, domain)
        message, misses = reply_for(answer, misses)
        dispatcher.utter_message(**message)
        events = [SlotSet(MISSES_SLOT, float(misses)), *follow_up(dispatcher, tracker)]
        if not (tracker.active_loop or {}).get("name") and misses < 2:
            # Also reached from another action (order details that weren't any): the turn ends here. At two
            # misses the handoff policy decides what comes next; inside a form, the form asks again.
            events.append(FollowupAction("action_listen"))
        return events
