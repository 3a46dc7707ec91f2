"""Policy questions (delivery, payment, returns, account...) answered from the shop's documents.

Every policy intent's rule runs `action_answer_policy_question`. The intent picks the topic (which pages are
relevant, knowledge.topics); retrieval with the customer's own words picks the passage; the reply is the
sentences that answer the specific question plus "Source: <page title>", with the buttons of the intent's
own response (e.g. "Cancel an order" after a cancellation-fee answer). When the documents have nothing
relevant enough, the intent's response in domain.yml is sent instead (written to agree with the documents),
or, for a question with no policy intent, an honest "not sure".

The action reads only the latest message and returns no events, so it can answer a question asked inside
an active form without touching the form's slots (the dialogue policy then asks the pending question again).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import HUMAN_BUTTON, NOT_SURE
from actions.other_requests import follow_up
from knowledge.answers import Answer, answer_question
from knowledge.topics import Topic, topic_for

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
    if topic and topic.fallback:
        return {"response": topic.fallback}
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


class ActionAnswerPolicyQuestion(Action):
    """Answer a policy question from the documents, or with the intent's own response."""

    def name(self) -> str:
        return ACTION_NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        answer, topic = await answer_policy_question(tracker)
        dispatcher.utter_message(**reply_for(answer, topic, domain))
        return follow_up(dispatcher, tracker)  # the message's other requests, if it had any
