"""Which order the customer means: asked the easy way, and remembered when mentioned outside a flow.

`action_ask_order_id` is how every order form asks for the order (Rasa runs `action_ask_<slot>` for a form's
requested slot). A signed-in customer is never asked to type a number: they pick from their own recent
orders, the ones the flow can act on first. Everyone else is asked for the number, worded for the flow.

`action_order_context` answers a message that gives order details without saying what to do ("my email is
x@y.com and the order is #581163"): it checks the details like a form would, remembers the order (so "cancel
it" works next) and asks what the customer would like to do with it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.desk import order_desk
from actions.formatting import day, money
from actions.identity import CUSTOMER_SLOT, verified_customer_id
from actions.message_parsing import address_in, emails, order_numbers
from actions.order_forms import FLOW_FORMS, NO_MATCH, client_of
from actions.other_requests import follow_up
from actions.resilience import degrade_on_store_outage
from shop_profile import current_profile
from store.service import NotAllowed, OrderDeskError
from store.views import OrderView

MAX_CHOICES = 5
# The order states each flow can act on, most useful first (the rest are offered after them).
FLOW_STATES: dict[str, tuple[str, ...]] = {
    "cancel_order_form": ("processing",),
    "change_address_form": ("processing",),
    "return_form": ("delivered",),
    "track_order_form": ("shipped", "processing", "delivered"),
    "track_refund_form": ("returned", "cancelled", "delivered"),
}
QUESTIONS: dict[str, str] = {
    "cancel_order_form": "Which order would you like to cancel?",
    "change_address_form": "Which order's delivery address should I change?",
    "return_form": "Which order would you like to return?",
    "track_order_form": "Which order shall I check?",
    "track_refund_form": "Which order is the refund for?",
    "invoice_form": "Which order do you need the invoice for?",
    "list_orders_form": "Which order shall I look at?",
}
ASK_NUMBER: dict[str, str] = {
    "list_orders_form": "To show your orders I first need to confirm it's you. What's the order number of one of "
                        "your orders{example}? You'll find it in your confirmation email.",
    "invoice_form": "Which order is the invoice for? Give me the order number{example} or the invoice number "
                    "{invoice_example}.",
}
ASK_NUMBER_DEFAULT = "What's the order number? You'll find it in your order confirmation email{example}."


def ask_number(form: str) -> str:
    """The question for the order number, with the shop's own example (shop.yml `order_numbers.examples`)."""
    examples = current_profile().order_numbers.examples
    example = f" (for example {examples[0]})" if examples else ""
    invoice = f"(e.g. INV-{examples[0]})" if examples else "(INV- and the order number)"
    return ASK_NUMBER.get(form, ASK_NUMBER_DEFAULT).format(example=example, invoice_example=invoice)


WHAT_NEXT = [
    {"title": "Where is it?", "payload": "/track_order"},
    {"title": "Cancel it", "payload": "/cancel_order"},
    {"title": "Change the address", "payload": "/change_shipping_address"},
    {"title": "Return it", "payload": "/get_refund"},
    {"title": "Invoice", "payload": "/get_invoice"},
]


KNOWLEDGE_ACTION = "action_answer_from_knowledge"  # actions/knowledge.py
LIKELY = 0.15  # a flow the NLU ranked this high, for a message with order details, is what the customer wants


def likely_flow(message: dict[str, Any]) -> str | None:
    """The order flow a message with order details most likely asks for, from the NLU's own ranking."""
    if not (order_numbers(message) or emails(message)):
        return None
    if address_in(str(message.get("text") or "")):
        return "change_shipping_address"  # "order 581146 … please deliver to 10 Downing Lane, Bath BA1 1AA"
    for candidate in message.get("intent_ranking") or []:
        name, confidence = candidate.get("name"), float(candidate.get("confidence") or 0.0)
        if name in FLOW_FORMS and confidence >= LIKELY:
            return str(name)
    return None


def choice_title(order: OrderView) -> str:
    items = f"{order.item_count} item{'s' if order.item_count != 1 else ''}"
    return f"{order.number} · {day(order.placed_at)} · {items}, {money(order.total, order.currency)} · {order.status}"


def order_choices(orders: list[OrderView], form: str) -> list[OrderView]:
    """The customer's orders in the order a flow wants them: those it can act on first."""
    wanted = FLOW_STATES.get(form, ())
    first = [o for o in orders if o.status in wanted]
    return (first + [o for o in orders if o not in first])[:MAX_CHOICES]


def pick_buttons(orders: list[OrderView]) -> list[dict[str, str]]:
    return [{"title": choice_title(o), "payload": f'/inform{{"order_id":"{o.number}"}}'} for o in orders]


class ActionAskOrderId(Action):
    def name(self) -> str:
        return "action_ask_order_id"

    @degrade_on_store_outage
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        form = str((tracker.active_loop or {}).get("name") or "")
        customer = verified_customer_id(tracker)
        if customer is None:
            dispatcher.utter_message(text=ask_number(form))
            return []
        orders = order_desk().recent_orders(customer, limit=20)
        if not orders:
            dispatcher.utter_message(text="I can't see any orders on your account yet. If you ordered as a guest, "
                                          "tell me the order number from your confirmation email.")
            return []
        dispatcher.utter_message(text=QUESTIONS.get(form, "Which order is it about?") + " Here are your recent ones:",
                                 buttons=pick_buttons(order_choices(orders, form)))
        return []


class ActionOrderContext(Action):
    """Order details given outside any flow: check them, remember the order, ask what to do with it."""

    def name(self) -> str:
        return "action_order_context"

    @degrade_on_store_outage
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if flow := likely_flow(tracker.latest_message or {}):
            return [FollowupAction(FLOW_FORMS[flow])]  # "track 581146 a@b.com": the NLU's runner-up is the task
        return self.remember_order(dispatcher, tracker) + follow_up(dispatcher, tracker)

    def remember_order(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        message = tracker.latest_message or {}
        numbers, found_emails = order_numbers(message), emails(message)
        customer = verified_customer_id(tracker)
        number = numbers[0] if len(numbers) == 1 else None
        if number is None:
            if found_emails and tracker.get_slot("order_id") and customer is None:
                return self._verify(dispatcher, tracker, tracker.get_slot("order_id"), found_emails[0])
            if not numbers and not found_emails:
                return [FollowupAction(KNOWLEDGE_ACTION)]  # no order details at all: maybe the help pages know
            dispatcher.utter_message(text="Thanks! What can I help you with? I can track, cancel or change an "
                                          "order, start a return, find an invoice or answer questions about the shop.",
                                     buttons=[*WHAT_NEXT[:1], {"title": "Return something", "payload": "/get_refund"}])
            return [SlotSet("email", found_emails[0])] if found_emails and customer is None else []
        if customer is not None:
            try:
                order = order_desk().order(customer, number)
            except OrderDeskError as not_found:
                dispatcher.utter_message(text=str(not_found))
                return []
            self._ask_what_next(dispatcher, order.number, order.status)
            return [SlotSet("order_id", number)]
        email = found_emails[0] if found_emails else tracker.get_slot("email")
        if email:
            return self._verify(dispatcher, tracker, number, email)
        dispatcher.utter_message(text=f"Got it, order {number}. What would you like to do with it?",
                                 buttons=WHAT_NEXT)
        return [SlotSet("order_id", number)]

    def _verify(self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str,
                email: str) -> list[EventType]:
        desk = order_desk()
        try:
            customer = desk.verify_owner(tracker.sender_id, number, email, client=client_of(tracker))
        except NotAllowed as locked:
            dispatcher.utter_message(text=str(locked))
            return [SlotSet("order_id", None), SlotSet("email", None)]
        if customer is None:
            dispatcher.utter_message(text=NO_MATCH)
            return [SlotSet("order_id", None), SlotSet("email", None)]
        order = desk.order(customer, number)
        self._ask_what_next(dispatcher, order.number, order.status)
        return [SlotSet("order_id", number), SlotSet("email", email), SlotSet(CUSTOMER_SLOT, str(customer))]

    @staticmethod
    def _ask_what_next(dispatcher: CollectingDispatcher, number: str, status: str) -> None:
        buttons: list[dict[str, Any]] = WHAT_NEXT
        if status != "processing":
            buttons = [b for b in WHAT_NEXT if b["payload"] not in ("/cancel_order", "/change_shipping_address")]
        dispatcher.utter_message(text=f"Thanks, I've found order {number} ({status}). What would you like to do "
                                      "with it?", buttons=buttons)
