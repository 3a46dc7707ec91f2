"""The other requests in a message that asked for several things, handled after the first one.

The NLU records the extra requests of a message like "cancel 581146 and what's your returns policy?" in its
parse data (bot/nlu/clauses.py, `shopdesk_requests`). The main request gets the conversation; the others
are not dropped: a flow that starts keeps them in the `pending_requests` slot and says it will come back to
them, and whatever answers last (a finished flow, a knowledge-base answer) handles them: questions about the
shop are answered from its documents, other tasks are offered as a button to start them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.message_parsing import order_numbers
from knowledge.answers import answer_question
from knowledge.topics import topic_for

logger = logging.getLogger(__name__)

REQUESTS_KEY = "shopdesk_requests"  # bot/nlu/clauses.py REQUESTS_KEY
PENDING_SLOT = "pending_requests"
MAX_HANDLED = 2
# Requests that are tasks: offered as a button that starts them, with the order the clause named.
TASKS: dict[str, str] = {
    "track_order": "check where your order is",
    "cancel_order": "cancel an order",
    "change_shipping_address": "change a delivery address",
    "get_refund": "return something",
    "track_refund": "check on a refund",
    "get_invoice": "get an invoice",
    "list_orders": "see your orders",
    "recommend_product": "get some product suggestions",
    "recommend_similar": "see similar products",
    "product_info": "know more about a product",
    "contact_human_agent": "talk to a person",
}
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}
# Look-ups that change nothing, answered straight away for a verified customer (actions/orders.py registers
# them): the answerer says it and returns True, or returns False when it can't (then a button is offered).
LookUp = Callable[[CollectingDispatcher, Tracker, "str | None"], bool]
READ_ONLY: dict[str, LookUp] = {}


def requests_in(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The extra requests the NLU found in a message (well-formed entries only)."""
    found = (message or {}).get(REQUESTS_KEY) or []
    return [r for r in found if isinstance(r, dict) and r.get("intent") and r.get("text")][:MAX_HANDLED]


def pending(tracker: Tracker) -> list[dict[str, Any]]:
    value = tracker.get_slot(PENDING_SLOT)
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def keep_for_later(dispatcher: CollectingDispatcher, tracker: Tracker,
                   also: list[dict[str, Any]] | None = None) -> list[EventType]:
    """A flow starts: remember the message's other requests (and `also`: the same request for other orders it
    named) and tell the customer they're not forgotten."""
    extra = (also or []) + requests_in(tracker.latest_message)
    for question in (r for r in extra if r["intent"] not in TASKS):
        _handle(dispatcher, tracker, question)  # a question is answered now, on the way into the flow
    tasks = [r for r in extra if r["intent"] in TASKS]
    if not tasks:
        return []
    topics = " and ".join(f"“{r['text']}”" for r in tasks)
    dispatcher.utter_message(text=f"I'll come back to {topics} right after this.")
    return [SlotSet(PENDING_SLOT, tasks)]


def follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Handle the requests still waiting (kept by a flow, or in the message just answered). While a flow is
    still collecting (a question answered inside a form), what it kept waits for its end."""
    in_a_flow = bool((tracker.active_loop or {}).get("name"))
    waiting = [] if in_a_flow else pending(tracker)
    texts = {r["text"] for r in waiting}
    waiting += [r for r in requests_in(tracker.latest_message) if r["text"] not in texts]
    if not waiting:
        return []
    for request in waiting[:MAX_HANDLED]:
        _handle(dispatcher, tracker, request)
    return [SlotSet(PENDING_SLOT, None)] if not in_a_flow and tracker.get_slot(PENDING_SLOT) is not None else []


def _handle(dispatcher: CollectingDispatcher, tracker: Tracker, request: dict[str, Any]) -> None:
    intent, text = str(request["intent"]), str(request["text"])
    if intent in TASKS:
        numbers = order_numbers({"text": text})
        look_up = READ_ONLY.get(intent)
        if look_up and look_up(dispatcher, tracker, numbers[0] if numbers else tracker.get_slot("order_id")):
            return  # a look-up for the verified customer: just answered
        payload = f"/{intent}" + (f'{{"order_id":"{numbers[0]}"}}' if numbers else "")
        about = f" (order {numbers[0]})" if numbers else ""
        dispatcher.utter_message(text=f"You also wanted to {TASKS[intent]}{about}. Shall we do that now?",
                                 buttons=[{"title": "Yes, let's do that", "payload": payload}])
        return
    answer = documents_answer(intent, text)
    if answer is None:
        dispatcher.utter_message(text=f"You also asked: “{text}”. I couldn't find that in our help pages; "
                                      "someone from our team can help with it.", buttons=[HUMAN_BUTTON])
        return
    dispatcher.utter_message(text=f"About your other question (“{text}”): {answer}")


def documents_answer(intent: str, text: str) -> str | None:
    """The shop's documents' answer to a question asked in passing, with its source; None when they have none."""
    try:
        found = answer_question(text, None, None, topic=topic_for(intent))
    except Exception:  # the knowledge base is down: say we couldn't, never crash the turn
        logger.exception("knowledge base lookup failed for a follow-up request")
        return None
    return f"{found.text}\n\n{found.citation}" if found.found else None
