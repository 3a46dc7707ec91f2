"""The order forms: which order, whose it is, what the customer wants changed, read from whatever they write.

Every order flow shares the same first steps: an order number and, unless the conversation already has
a verified customer, the email on that order. Wrong pairs get exactly the same answer as unknown orders,
and repeated failures pause look-ups for that email, that order number, that client address and that
conversation (the order desk counts them across conversations and channels), so order numbers can't be
enumerated. When an order can't be changed (already shipped, outside the return window...) the form ends
early with the reason in `order_blocker`; the flow's submit action says it.

Customers don't answer one question at a time, so the slots are read here (rasa-sdk `extract_<slot>`
methods; domain.yml maps them as `custom`), from the NLU's entities and the text itself, on every turn:
- details given early, together or in any order fill the form and its questions are skipped;
- "no sorry, I meant 581230" moves the flow to that order (and a pending "yes" is forgotten);
- a flow started with no order named continues with the order just discussed ("cancel it");
- a message that is not an answer to the pending question (another request, a question about the shop,
  "stop") is rejected by the form, so Rasa's rules answer it; the form then asks its question again, or
  ends cleanly when the customer asked for something else. A number inside an address or a return reason
  is never taken for a change of order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.desk import order_desk
from actions.identity import CUSTOMER_SLOT, conversation_revoked, verified_customer_id
from actions.message_parsing import (
    address_in,
    emails,
    is_correction,
    is_explicit_stop,
    is_question,
    is_request,
    looks_like_address,
    looks_like_street,
    names_an_order_explicitly,
    order_numbers,
    reason_in,
    without_order_numbers,
    yes_or_no,
)
from actions.other_requests import documents_answer, keep_for_later, requests_in
from actions.resilience import degrade_on_store_outage
from shop_profile import current_profile
from store.backend import OrderBackend
from store.errors import NotAllowed, OrderDeskError
from store.verification import MAX_FAILED_VERIFICATIONS, VERIFICATION_LOCKOUT, normalize_order_number

BLOCKER_SLOT = "order_blocker"
CLIENT_KEY = "shopdesk_client"  # set server-side by every channel (the client's address), never by the client
_PAUSE = f"{VERIFICATION_LOCKOUT.seconds // 60} minutes"
NO_MATCH = ("I couldn't find an order with that number and email address. Please check both "
            "(the order number is in your confirmation email) and try again. For your security, look-ups are "
            f"paused for {_PAUSE} after {MAX_FAILED_VERIFICATIONS} unsuccessful tries.")
LAST_TRY = ("I couldn't match that order number and email. For your security I've paused order look-ups "
            f"with these details for {_PAUSE}. Our team can help you in the meantime.")
NOT_AN_EMAIL = "That doesn't look like an email address. Please type it like name@example.com."
YES_OR_NO = "Sorry, I need a clear yes or no for this one."

# The intent that starts each order flow, and its form.
FLOW_FORMS: dict[str, str] = {
    "track_order": "track_order_form",
    "cancel_order": "cancel_order_form",
    "change_shipping_address": "change_address_form",
    "get_refund": "return_form",
    "track_refund": "track_refund_form",
    "get_invoice": "invoice_form",
    "list_orders": "list_orders_form",
}
# No rule answers these inside a flow: they are answers (or non-answers) to the form's own question.
ANSWER_INTENTS = frozenset({"inform", "affirm", "deny"})
HUMAN_INTENTS = frozenset({"contact_human_agent", "contact_customer_service"})
# Flows whose words customers also use to ask about the rules ("can I return a personalised item?").
QUESTION_FLOWS = frozenset({"cancel_order", "change_shipping_address", "get_refund", "track_refund", "get_invoice"})
FREE_TEXT_SLOTS = frozenset({"new_address", "return_reason"})
# What one flow collected that must never carry over into another (a "yes", an address, a reason).
FLOW_STATE_SLOTS = ("confirmation", "new_address", "return_reason", BLOCKER_SLOT)
_INTERNAL_ACTIONS = frozenset({"action_listen", "action_extract_slots", None})


def not_an_order_number() -> str:
    """What the shop's order numbers look like (shop.yml `order_numbers.examples`), for an answer that isn't one."""
    looks_like = current_profile().order_numbers.looks_like()
    return ("That doesn't look like an order number. " + (f"{looks_like} " if looks_like else "") +
            "You'll find yours in the order confirmation email. If you're signed in on our site, I can show you "
            "your orders instead.")


def _checked_when_extracted(slot: str) -> Any:
    """rasa-sdk validates every slot set this turn; ours were checked as they were read (extract_*)."""
    def validate(self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: DomainDict) -> dict[str, Any]:
        return {slot: value}
    return validate


def client_of(tracker: Tracker) -> str | None:
    """The client address the channel stamped on the latest message (None where no channel did)."""
    value = ((tracker.latest_message or {}).get("metadata") or {}).get(CLIENT_KEY)
    return value.strip() if isinstance(value, str) and value.strip() else None


def slot_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message (what the conversation held before this turn)."""
    events = tracker.events or []
    last_user = _latest_user_index(events)
    if last_user is None:
        return None
    for event in reversed(events[:last_user]):
        if event.get("event") in ("restart", "session_started", "reset_slots"):
            return None
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def _latest_user_index(events: list[dict[str, Any]]) -> int | None:
    return max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)


def intent_of(message: Mapping[str, Any]) -> tuple[str, float]:
    intent = message.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def answered_elsewhere(tracker: Tracker, form: str) -> bool:
    """Has another action already answered the latest message? Then the form is coming back after a
    digression, and that message is not an answer to its question."""
    events = tracker.events or []
    last_user = _latest_user_index(events)
    if last_user is None:
        return False
    own = {form, f"validate_{form}"}
    return any(e.get("event") == "action" and e.get("name") not in _INTERNAL_ACTIONS | own
               for e in events[last_user + 1:])


def corrects_the_order(text: str) -> bool:
    """Inside an address or a reason, a number is another order only when the message is about that:
    "no sorry i meant 581230", "wrong order, it's #581230"."""
    if not order_numbers({"text": text}):
        return False
    rest = without_order_numbers(text)
    return (is_correction(text) or names_an_order_explicitly(text)) and len(rest.split()) <= 5 \
        and not looks_like_street(rest)


def _without_free_text(message: Mapping[str, Any], free_text_slots: tuple[str, ...]) -> Mapping[str, Any]:
    """The message without the "… to <address>" / "because …" part the flow collects and without the other
    requests it makes: numbers there are not this flow's order."""
    text = str(message.get("text") or "")
    readers = {"new_address": address_in, "return_reason": reason_in}
    clauses = [readers[slot](text) for slot in free_text_slots if slot in readers]
    clauses += [str(r["text"]) for r in requests_in(message)]  # the other requests' numbers are theirs
    for clause in clauses:
        if clause:
            text = text.replace(clause, " ")
    entities = [e for e in message.get("entities") or [] if str(e.get("value")) in text]
    return {**message, "text": text, "entities": entities}


class OrderFormValidation(FormValidationAction):
    """Shared identity and ownership steps; subclasses add their own slots and rules."""

    form: str = ""
    extra_slots: tuple[str, ...] = ()
    needs_confirmation: bool = False
    order_optional_when_verified: bool = False

    def name(self) -> str:
        return f"validate_{self.form}"

    # --- the turn as a whole ------------------------------------------------------------------------------

    def activating(self, tracker: Tracker) -> bool:
        """Is the form starting with this message? Rasa validates an activation on a tracker that already
        shows the form active (and may still hold another form's requested slot), so the sign is the form's
        activation after the latest message, or a tracker where it isn't active yet."""
        if (tracker.active_loop or {}).get("name") != self.form:
            return True
        events = tracker.events or []
        last_user = _latest_user_index(events)
        return last_user is not None and any(
            e.get("event") == "active_loop" and e.get("name") == self.form for e in events[last_user + 1:])

    def requested(self, tracker: Tracker) -> str | None:
        return None if self.activating(tracker) else tracker.get_slot("requested_slot")

    def fresh_message(self, tracker: Tracker) -> Mapping[str, Any] | None:
        """The latest message, when it is this form's to read: always when it starts the form (also when another
        action handed it on, "invoice for 581146 - does it show VAT?"), not when the form comes back after
        another action answered it."""
        if not self.activating(tracker) and answered_elsewhere(tracker, self.form):
            return None
        return tracker.latest_message or {}

    def leaves_the_form(self, tracker: Tracker) -> bool:
        """Is the latest message something other than an answer to the pending question?"""
        requested, message = self.requested(tracker), self.fresh_message(tracker)
        if not requested or message is None:
            return False
        text = str(message.get("text") or "").strip()
        intent, confidence = intent_of(message)
        if text.startswith("/"):
            return intent not in ANSWER_INTENTS and FLOW_FORMS.get(intent) != self.form
        if emails(message) or (order_numbers(message) and requested not in FREE_TEXT_SLOTS):
            return False  # details for this flow
        if intent in ANSWER_INTENTS:
            return False
        if intent == "stop":
            return requested != "return_reason" or is_explicit_stop(text)
        if requested == "confirmation" and intent not in FLOW_FORMS and yes_or_no(text, intent) is not None:
            return False
        if intent in FLOW_FORMS:
            if FLOW_FORMS[intent] == self.form:
                return False
            if requested == "return_reason":
                return confidence >= 0.8 and is_request(text)
            return confidence >= 0.5 and not (requested == "new_address" and looks_like_address(text))
        if requested == "return_reason":  # almost anything is a reason; a question or a person request isn't
            return is_question(text) or intent in HUMAN_INTENTS
        if requested == "new_address":
            return not looks_like_address(text)
        return True

    def answer_in_passing(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        """A question about the shop's rules phrased with a flow's words ("will I get a full refund?", "can I
        exchange it?"): answered from the documents when they know, instead of starting (or switching to) a
        flow nobody asked for. True when it was answered."""
        message = self.fresh_message(tracker) or {}
        text = str(message.get("text") or "")
        intent, _ = intent_of(message)
        if intent not in QUESTION_FLOWS or not is_question(text) or order_numbers(message) or emails(message):
            return False
        answer = documents_answer(intent, text)
        if answer:
            dispatcher.utter_message(text=answer)
        return bool(answer)

    @degrade_on_store_outage
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        requested, leaving_the_form = self.requested(tracker), self.leaves_the_form(tracker)
        if requested and leaving_the_form and self.answer_in_passing(dispatcher, tracker):
            return [SlotSet(requested, None)]  # answered; the form asks its question again
        if self.activating(tracker):
            self.answer_in_passing(dispatcher, tracker)  # then the flow asks for what it needs
        if leaving_the_form:
            # Let Rasa's rules answer it; the form asks again afterwards, or a new flow / "stop" replaces it.
            # What this flow collected is dropped when the customer moves on, so it can't resurface later.
            intent, _ = intent_of(tracker.latest_message or {})
            leaving = intent in FLOW_FORMS or intent == "stop"
            resets = [SlotSet(slot, None) for slot in FLOW_STATE_SLOTS
                      if leaving and tracker.get_slot(slot) is not None]
            return [*resets, ActionExecutionRejected(self.form)]
        # rasa-sdk's run, except that what the extraction found is kept even when it is no longer a required
        # slot afterwards (the email and the verified customer, once the email proved who they are).
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        validated = await self._extract_validation_events(dispatcher, tracker, domain)
        names = {event.get("name") for event in validated if event.get("event") == "slot"}
        kept = keep_for_later(dispatcher, tracker, self._other_orders(tracker)) if self.activating(tracker) else []
        return [event for event in extracted if event.get("name") not in names] + validated + kept

    validate_order_id = _checked_when_extracted("order_id")
    validate_email = _checked_when_extracted("email")
    validate_confirmation = _checked_when_extracted("confirmation")
    validate_new_address = _checked_when_extracted("new_address")
    validate_return_reason = _checked_when_extracted("return_reason")

    @property
    def own_intent(self) -> str:
        """The intent that starts this form's flow."""
        return next(intent for intent, form in FLOW_FORMS.items() if form == self.form)

    def _other_orders_clause(self, message: Mapping[str, Any]) -> bool:
        """Does another request of the message name its own order for this same flow?"""
        return any(r["intent"] == self.own_intent and order_numbers({"text": r["text"]}) for r in requests_in(message))

    def _other_orders(self, tracker: Tracker) -> list[dict[str, Any]]:
        """"check 700001 and 700002": the flow takes the first order; the same request for the others waits."""
        message = self.fresh_message(tracker) or {}
        numbers = order_numbers(_without_free_text(message, self.extra_slots))
        return [{"intent": self.own_intent, "confidence": 1.0, "text": f"order {n}"} for n in numbers[1:]]

    # --- which slots ---------------------------------------------------------------------------------------

    def blocker(self, desk: OrderBackend, customer_id: int, order_number: str) -> str | None:
        """Why this flow can't go ahead for this order (None: it can). Raises OrderNotFound."""
        desk.order(customer_id, order_number)
        return None

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot(BLOCKER_SLOT):
            return []
        customer = verified_customer_id(tracker)
        if customer is not None and self.order_optional_when_verified and not self._order_named(tracker):
            return []
        slots = ["order_id"] + ([] if customer is not None else ["email"]) + list(self.extra_slots)
        return slots + (["confirmation"] if self.needs_confirmation else [])

    def _order_named(self, tracker: Tracker) -> bool:
        """Optional-order flows (list orders, refunds) use the order only when the customer names one now."""
        message = self.fresh_message(tracker) or {}
        return bool(order_numbers(message)) or (not self.activating(tracker) and bool(tracker.get_slot("order_id")))

    # --- order number and email ------------------------------------------------------------------------------

    def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        message = self.fresh_message(tracker)
        if message is None:
            return {}
        requested, activating = self.requested(tracker), self.activating(tracker)
        text = str(message.get("text") or "")
        current = tracker.get_slot("order_id")
        numbers = order_numbers(_without_free_text(message, self.extra_slots) if activating else message)
        if activating and not numbers and len(order_numbers(message)) == 1 and not self._other_orders_clause(message):
            numbers = order_numbers(message)  # "where is 581146 and can I have the invoice too": the same order
        if requested in FREE_TEXT_SLOTS and not corrects_the_order(text):
            return {}  # a house number, a postcode or a number in a reason is not a change of order
        if not numbers and requested == "order_id" and (bare := normalize_order_number(text)):
            numbers = [bare]  # the answer to "what's the order number?" is one: a shop's #1001 or A1001 too
        if len(numbers) > 1 and activating:
            return self._take_order(dispatcher, tracker, numbers[0])  # the others wait (keep_for_later)
        if len(numbers) > 1:
            if requested == "order_id":
                dispatcher.utter_message(text="Which order do you mean? Please give me just one order number "
                                              f"({' or '.join(numbers[:3])}).")
                return {"order_id": None}
            return {}  # several numbers mid-flow: keep the order we have
        if not numbers:
            if activating and current:
                if verified_customer_id(tracker) is None and conversation_revoked(str(tracker.sender_id)):
                    return {"order_id": None, "email": None}  # a signed-out conversation remembers no order
                return self._take_order(dispatcher, tracker, current)  # "cancel it": the order just discussed
            if requested == "order_id" and not emails(message):
                dispatcher.utter_message(text=not_an_order_number())
                return {"order_id": None}
            if requested == "order_id":
                email = emails(message)[0]
                return {} if verified_customer_id(tracker) is not None else {"email": email}
            return {}
        number = numbers[0]
        if number == current and not activating and requested != "order_id":
            return {}
        return self._take_order(dispatcher, tracker, number)

    def extract_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        message = self.fresh_message(tracker)
        if message is None or verified_customer_id(tracker) is not None:
            return {}
        requested = self.requested(tracker)
        found = emails(message)
        if requested in FREE_TEXT_SLOTS:
            return {}
        if order_numbers(message) and found:
            return {}  # extract_order_id already checked this pair
        if not found:
            if requested == "email":
                dispatcher.utter_message(text=NOT_AN_EMAIL)
                return {"email": None}
            return {}
        number = tracker.get_slot("order_id")
        if not number:
            return {"email": found[0]}
        return self._verify_pair(dispatcher, tracker, number, found[0])

    def _take_order(self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str) -> dict[str, Any]:
        """The flow is now about `number`: check it is the customer's (proving who they are if needed)."""
        moved = {"confirmation": None} if number != slot_before_latest_message(tracker, "order_id") else {}
        customer = verified_customer_id(tracker)
        if customer is not None:
            return {**moved, **self._check_order(dispatcher, customer, number)}
        message = self.fresh_message(tracker) or {}
        email = next(iter(emails(message)), None) or tracker.get_slot("email")
        if email:
            return {**moved, **self._verify_pair(dispatcher, tracker, number, email)}
        return {**moved, "order_id": number}

    def _verify_pair(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str, email: str
    ) -> dict[str, Any]:
        desk, client = order_desk(), client_of(tracker)
        try:
            customer = desk.verify_owner(tracker.sender_id, number, email, client=client)
        except NotAllowed as locked:
            return {"order_id": None, "email": None, BLOCKER_SLOT: str(locked)}
        if customer is None:
            if desk.is_locked_out(tracker.sender_id, number, email, client=client):
                return {"order_id": None, "email": None, BLOCKER_SLOT: LAST_TRY}
            dispatcher.utter_message(text=NO_MATCH)
            return {"order_id": None, "email": None}
        result = self._check_order(dispatcher, customer, number)
        return {**result, "email": email, CUSTOMER_SLOT: str(customer)}

    def _check_order(self, dispatcher: CollectingDispatcher, customer: int, number: str) -> dict[str, Any]:
        try:
            blocker = self.blocker(order_desk(), customer, number)
        except OrderDeskError as not_found:
            dispatcher.utter_message(text=str(not_found))
            return {"order_id": None}
        return {"order_id": number, BLOCKER_SLOT: blocker}

    # --- the pending "yes" -----------------------------------------------------------------------------------

    def extract_confirmation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only an answer to the confirmation just asked counts, and only while nothing it restated changed."""
        message = self.fresh_message(tracker)
        if message is None or self.requested(tracker) != "confirmation":
            return {}
        if any(tracker.get_slot(slot) != slot_before_latest_message(tracker, slot) for slot in self._restated_slots()):
            return {"confirmation": None}  # the customer changed the order/address/reason: ask again
        text = str(message.get("text") or "")
        answer = yes_or_no(text, intent_of(message)[0])
        if answer is None:
            dispatcher.utter_message(text=YES_OR_NO)
        return {"confirmation": answer}

    def _restated_slots(self) -> tuple[str, ...]:
        return ("order_id", *self.extra_slots)


class ValidateTrackOrderForm(OrderFormValidation):
    form = "track_order_form"


class ValidateTrackRefundForm(OrderFormValidation):
    form = "track_refund_form"
    order_optional_when_verified = True


class ValidateInvoiceForm(OrderFormValidation):
    form = "invoice_form"


class ValidateListOrdersForm(OrderFormValidation):
    form = "list_orders_form"
    order_optional_when_verified = True


class ValidateCancelOrderForm(OrderFormValidation):
    form = "cancel_order_form"
    needs_confirmation = True

    def blocker(self, desk: OrderBackend, customer_id: int, order_number: str) -> str | None:
        return desk.cancellation_blocker(customer_id, order_number)


class ValidateChangeAddressForm(OrderFormValidation):
    form = "change_address_form"
    extra_slots = ("new_address",)
    needs_confirmation = True

    def blocker(self, desk: OrderBackend, customer_id: int, order_number: str) -> str | None:
        return desk.address_change_blocker(customer_id, order_number)

    def extract_new_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        message = self.fresh_message(tracker)
        if message is None:
            return {}
        text, requested = str(message.get("text") or "").strip(), self.requested(tracker)
        if requested == "new_address":
            candidate: str | None = text
        elif requested == "confirmation" and looks_like_street(text):
            candidate = _after_correction_words(text)  # "no sorry, it's 19 Queen Street…": confirmed again
        elif requested is None:
            candidate = address_in(text)  # "change the address on 581146 to 12 High St, York YO1 7HH"
        else:
            return {}
        if not candidate or candidate.startswith("/"):
            return {}
        checked = order_desk().check_new_address(verified_customer_id(tracker), tracker.get_slot("order_id"),
                                                 candidate)
        if problem := checked.problem:
            dispatcher.utter_message(text=problem)
            return {"new_address": None}
        return {"new_address": checked.address}


_CORRECTION_LEAD = re.compile(r"^\W*(?:(?:no|nope|sorry|wait|actually|oops|it'?s|its|make it|should be|i meant|"
                              r"meant|the address is|instead)\b\W*)+", re.IGNORECASE)


def _after_correction_words(text: str) -> str:
    """"no sorry, it's 19 Queen Street, Cardiff" -> "19 Queen Street, Cardiff"."""
    return _CORRECTION_LEAD.sub("", text).strip() or text


class ValidateReturnForm(OrderFormValidation):
    form = "return_form"
    extra_slots = ("return_reason",)
    needs_confirmation = True

    def blocker(self, desk: OrderBackend, customer_id: int, order_number: str) -> str | None:
        return desk.return_blocker(customer_id, order_number)

    def extract_return_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any reason in the customer's own words ("changed my mind", "too small", "meh")."""
        message = self.fresh_message(tracker)
        if message is None:
            return {}
        text, requested = str(message.get("text") or "").strip(), self.requested(tracker)
        if requested == "return_reason":
            if tracker.get_slot("order_id") != slot_before_latest_message(tracker, "order_id"):
                return {}  # "no sorry I meant 581230": a change of order, not a reason
            if yes_or_no(text, intent_of(message)[0]) is not None and len(text.split()) <= 2:
                dispatcher.utter_message(text="Could you tell me in a few words why you're returning it?")
                return {"return_reason": None}
            reason: str | None = text
        elif requested is None:
            own = str(_without_free_text(message, ()).get("text") or "")  # not the message's other requests
            reason = reason_in(own)  # "return 581146, it's too small"
        else:
            return {}
        if not reason or reason.startswith("/"):
            return {}
        return {"return_reason": " ".join(reason.split())[:500]}
