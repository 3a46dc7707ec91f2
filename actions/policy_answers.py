"""Policy questions (delivery, payment, returns, account...) answered from the shop's documents.

Every policy intent's rule runs `action_answer_policy_question`. The intent picks the topic (which pages are
relevant, knowledge.topics); retrieval with the customer's own words picks the passage; the reply is the
sentences that answer the specific question plus "Source: <page title>", with the buttons of the intent's
own response (e.g. "Cancel an order" after a cancellation-fee answer). When the documents have nothing
relevant enough, the intent's response in domain.yml is sent instead, its shop facts filled in from shop.yml,
or, for a question with no policy intent, an honest "not sure".

The action reads only the latest message and returns no events, so it can answer a question asked inside
an active form without touching the form's slots (the dialogue policy then asks the pending question again).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import HUMAN_BUTTON, NOT_SURE
from actions.message_parsing import is_question, order_numbers
from actions.order_forms import FLOW_FORMS
from actions.other_requests import follow_up
from knowledge.answers import Answer, answer_question
from knowledge.topics import Topic, topic_for
from shop_profile import current_profile
from shop_profile.wording import response_values

logger = logging.getLogger(__name__)

ACTION_NAME = "action_answer_policy_question"


def question_of(tracker: Tracker, topic: Topic | None) -> str:
    """The customer's words; for a button payload ("/delivery_options") the topic's own question."""
    text = str((tracker.latest_message or {}).get("text") or "").strip()
    if not text or text.startswith("/"):
        return topic.question if topic else ""
    return text


def response_buttons(domain: DomainDict, response: str | None) -> list[dict[str, Any]]:
    """The buttons of a response in the domain (its first variant), so answers keep their next steps."""
    variants = (domain or {}).get("responses", {}).get(response or "") or []
    return list(variants[0].get("buttons") or []) if variants else []


def reply_for(answer: Answer, topic: Topic | None, domain: DomainDict) -> dict[str, Any]:
    """The message to send: the documents' answer, else the intent's response, else "not sure"."""
    if answer.found:
        message: dict[str, Any] = {"text": f"{answer.text}\n\n{answer.citation}"}
        buttons = response_buttons(domain, topic.fallback if topic else None)
        if buttons:
            message["buttons"] = buttons
        return message
    if topic and topic.fallback:  # its {placeholders} are the shop's facts, from shop.yml
        return {"response": topic.fallback, **response_values(current_profile())}
    return {"text": NOT_SURE, "buttons": [HUMAN_BUTTON]}


async def answer_policy_question(tracker: Tracker) -> tuple[Answer, Topic | None]:
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    topic = topic_for(intent)
    question = question_of(tracker, topic)
    if not question:
        return Answer(found=False), topic
    try:
        answer = await asyncio.to_thread(answer_question, question, None, None, topic=topic)
    except Exception:  # a knowledge-base problem must not cost the customer an answer
        logger.exception("knowledge base lookup failed")
        answer = Answer(found=False, unavailable="lookup failed")
    if answer.unavailable:
        logger.warning("knowledge base unavailable, sending the canned answer: %s", answer.unavailable)
    return answer, topic


# Policy topics whose question, asked about one order, is that order's flow ("when will 581146 arrive?").
POLICY_FLOWS: dict[str, str] = {
    "delivery_period": "track_order_form",
    "delivery_options": "track_order_form",
    "set_up_shipping_address": "change_address_form",
    "check_invoice": "invoice_form",
    "check_cancellation_fee": "cancel_order_form",
}
_POINTS_AT_AN_ORDER = re.compile(r"\b(it|that|this|them|that one|this one)\b", re.IGNORECASE)
TASK_RUNNER_UP = 0.2


def flow_for(message: dict[str, Any]) -> str | None:
    """The order flow a policy-classified message really asks for: a policy question about a named order, or a
    short instruction about the order just discussed ("ok cancel it") that the NLU also ranked as the task."""
    intent = str((message.get("intent") or {}).get("name") or "")
    if order_numbers(message):
        return POLICY_FLOWS.get(intent)
    text = str(message.get("text") or "")
    if is_question(text) or not _POINTS_AT_AN_ORDER.search(text) or len(text.split()) > 6:
        return None
    for candidate in message.get("intent_ranking") or []:
        if candidate.get("name") in FLOW_FORMS and float(candidate.get("confidence") or 0) >= TASK_RUNNER_UP:
            return FLOW_FORMS[str(candidate["name"])]
    return None


class ActionAnswerPolicyQuestion(Action):
    """Answer a policy question from the documents, or with the intent's own response."""

    def name(self) -> str:
        return ACTION_NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        flow = flow_for(message)
        if flow and not is_question(text):
            return [FollowupAction(flow)]  # "new delivery address for order 581146": the task, not the policy
        answer, topic = await answer_policy_question(tracker)
        dispatcher.utter_message(**reply_for(answer, topic, domain))
        if flow:
            return [FollowupAction(flow)]  # "invoice for 581146 - does it show the VAT?": answered, now the task
        return follow_up(dispatcher, tracker)  # the message's other requests, if it had any
