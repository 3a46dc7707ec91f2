"""Validation of the order forms: which order, whose it is, and whether the shop's rules allow the change.

Every order flow shares the same first steps: an order number and, unless the conversation already has
a verified customer, the email on that order. Wrong pairs get exactly the same answer as unknown orders,
and repeated failures pause look-ups for that email, that order number, that client address and that
conversation (the order desk counts them across conversations and channels), so order numbers can't be
enumerated. When an order can't be changed (already shipped, outside the return window...) the form ends
early with the reason in `order_blocker`; the flow's submit action says it.

The order number identifies what a flow changes, so it only changes when the customer answers the order
question or names it when starting a flow (domain.yml conditions its mappings the same way): a number the
NLU finds inside an address or a return reason, or something that isn't an order number at all, never
replaces the order the flow is about.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.desk import order_desk
from actions.identity import CUSTOMER_SLOT, verified_customer_id
from actions.resilience import degrade_on_store_outage
from store.service import (
    MAX_FAILED_VERIFICATIONS,
    VERIFICATION_LOCKOUT,
    NotAllowed,
    OrderDesk,
    OrderDeskError,
    normalize_email,
    normalize_order_number,
)

BLOCKER_SLOT = "order_blocker"
CLIENT_KEY = "shopdesk_client"  # set server-side by every channel (the client's address), never by the client
_PAUSE = f"{VERIFICATION_LOCKOUT.seconds // 60} minutes"
NO_MATCH = ("I couldn't find an order with that number and email address. Please check both "
            "(the order number is in your confirmation email) and try again. For your security, look-ups are "
            f"paused for {_PAUSE} after {MAX_FAILED_VERIFICATIONS} unsuccessful tries.")
LAST_TRY = ("I couldn't match that order number and email. For your security I've paused order look-ups "
            f"with these details for {_PAUSE}. Our team can help you in the meantime.")


def client_of(tracker: Tracker) -> str | None:
    """The client address the channel stamped on the latest message (None where no channel did)."""
    value = ((tracker.latest_message or {}).get("metadata") or {}).get(CLIENT_KEY)
    return value.strip() if isinstance(value, str) and value.strip() else None


def slot_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message (what the conversation held before this turn)."""
    events = tracker.events or []
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return None
    for event in reversed(events[:last_user]):
        if event.get("event") in ("restart", "session_started", "reset_slots"):
            return None
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def order_numbers_in(value: Any) -> list[str]:
    """The distinct order numbers in a slot value (the NLU gives a list when it tags several)."""
    values = value if isinstance(value, list) else [value]
    found = [normalize_order_number(str(v)) for v in values if v is not None]
    return list(dict.fromkeys(n for n in found if n))


class OrderFormValidation(FormValidationAction):
    """Shared identity and ownership steps; subclasses add their own slots and rules."""

    form: str = ""
    extra_slots: tuple[str, ...] = ()
    needs_confirmation: bool = False
    order_optional_when_verified: bool = False

    def name(self) -> str:
        return f"validate_{self.form}"

    @degrade_on_store_outage
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return await super().run(dispatcher, tracker, domain)

    def blocker(self, desk: OrderDesk, customer_id: int, order_number: str) -> str | None:
        """Why this flow can't go ahead for this order (None: it can). Raises OrderNotFound."""
        desk.order(customer_id, order_number)
        return None

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot(BLOCKER_SLOT):
            return []
        customer = verified_customer_id(tracker)
        if customer is not None and self.order_optional_when_verified and not tracker.get_slot("order_id"):
            return []
        slots = ["order_id"] + ([] if customer is not None else ["email"]) + list(self.extra_slots)
        return slots + (["confirmation"] if self.needs_confirmation else [])

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot("requested_slot")
        previous = order_numbers_in(slot_before_latest_message(tracker, "order_id"))
        # Only an answer to the order question, or the message that started the flow, can name the order;
        # a number found inside another answer (an address, a reason) is not a change of order.
        candidates = order_numbers_in(value) if asked in (None, "order_id") else previous
        if len(candidates) != 1 and asked != "order_id":
            candidates = previous  # something that isn't one order number never replaces the order we had
        if len(candidates) != 1:
            if asked == "order_id":
                dispatcher.utter_message(text=(
                    "Which order do you mean? Please give me just one order number." if candidates else
                    "That doesn't look like an order number. Order numbers are 6 digits, like 536365 "
                    "(cancelled ones start with a C)."))
            return {"order_id": None}
        number = candidates[0]
        customer = verified_customer_id(tracker)
        if customer is not None:
            return self._check_order(dispatcher, customer, number)
        email = tracker.get_slot("email")
        if email and normalize_email(email):
            return self._verify_pair(dispatcher, tracker, number, email)
        return {"order_id": number}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if verified_customer_id(tracker) is not None:
            return {"email": None}
        email = normalize_email(str(value) if value is not None else None)
        if email is None:
            dispatcher.utter_message(text="That doesn't look like an email address. Please type it like "
                                          "name@example.com.")
            return {"email": None}
        number = tracker.get_slot("order_id")
        if not number:
            return {"email": email}
        return self._verify_pair(dispatcher, tracker, number, email)

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


class ValidateTrackOrderForm(OrderFormValidation):
    form = "track_order_form"


class ValidateTrackRefundForm(OrderFormValidation):
    form = "track_refund_form"
    order_optional_when_verified = True


class ValidateInvoiceForm(OrderFormValidation):
    form = "invoice_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        def order_part(text: Any) -> str:
            return str(text or "").strip().upper().removeprefix("INV-").removeprefix("INV")

        stripped = [order_part(v) for v in value] if isinstance(value, list) else order_part(value)
        return super().validate_order_id(stripped, dispatcher, tracker, domain)


class ValidateListOrdersForm(OrderFormValidation):
    form = "list_orders_form"
    order_optional_when_verified = True


class ValidateCancelOrderForm(OrderFormValidation):
    form = "cancel_order_form"
    needs_confirmation = True

    def blocker(self, desk: OrderDesk, customer_id: int, order_number: str) -> str | None:
        return desk.cancellation_blocker(customer_id, order_number)


class ValidateChangeAddressForm(OrderFormValidation):
    form = "change_address_form"
    extra_slots = ("new_address",)
    needs_confirmation = True

    def blocker(self, desk: OrderDesk, customer_id: int, order_number: str) -> str | None:
        return desk.address_change_blocker(customer_id, order_number)

    def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        checked = order_desk().check_new_address(verified_customer_id(tracker), tracker.get_slot("order_id"), value)
        if problem := checked.problem:
            dispatcher.utter_message(text=problem)
            return {"new_address": None}
        return {"new_address": checked.address}


class ValidateReturnForm(OrderFormValidation):
    form = "return_form"
    extra_slots = ("return_reason",)
    needs_confirmation = True

    def blocker(self, desk: OrderDesk, customer_id: int, order_number: str) -> str | None:
        return desk.return_blocker(customer_id, order_number)

    def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = " ".join(str(value or "").split())
        if not reason:
            return {"return_reason": None}
        return {"return_reason": reason[:500]}
