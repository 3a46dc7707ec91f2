"""The order flows' final steps: confirm, then really change (or show) the order through the order desk.

Each runs when its form is complete. If the form ended early (`order_blocker`), the action explains why
and changes nothing; a state-changing step only happens after an explicit "yes".
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.desk import order_desk
from actions.formatting import (
    money,
    needs_a_person,
    open_return,
    order_line,
    order_tracking,
    refund_line,
    refund_needs_a_person,
    return_status,
)
from actions.identity import verified_customer_id
from actions.order_forms import BLOCKER_SLOT
from actions.other_requests import READ_ONLY, LookUp, follow_up
from actions.resilience import degrade_on_store_outage
from shop_profile import current_profile
from shop_profile.wording import refund_time
from store.backend import OrderBackend
from store.delivery import region_of
from store.errors import OrderDeskError

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
A_PERSON = {"title": "Talk to a person", "payload": "/contact_human_agent"}
FLOW_SLOTS = (BLOCKER_SLOT, "confirmation", "new_address", "return_reason", "requested_slot")


class ActionAskConfirmation(Action):
    """Summarises the pending change so the customer knows exactly what "yes" will do."""

    def name(self) -> str:
        return "action_ask_confirmation"

    @degrade_on_store_outage
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer, number = verified_customer_id(tracker), tracker.get_slot("order_id")
        form = (tracker.active_loop or {}).get("name")
        if customer is None or not number:
            dispatcher.utter_message(text="Shall I go ahead?", buttons=YES_NO)
            return []
        try:
            order = order_desk().order(customer, number)
        except OrderDeskError as error:
            dispatcher.utter_message(text=str(error))
            return []
        total = money(order.total, order.currency)
        question = {
            "cancel_order_form": f"Just to confirm: cancel order {order.number} ({order.item_count} items, {total})? "
                                 f"You'll get a full refund of {total}.",
            "change_address_form": f"Just to confirm: deliver order {order.number} to "
                                   f"“{tracker.get_slot('new_address')}” instead of “{order.shipping_address}”?",
            "return_form": f"Just to confirm: open a return for order {order.number} (reason: "
                           f"{tracker.get_slot('return_reason')})? Once we receive the items, {total} is refunded "
                           f"to your original payment method within {refund_time(current_profile())}.",
        }.get(form, "Shall I go ahead?")
        dispatcher.utter_message(text=question, buttons=YES_NO)
        return []


class OrderFlowAction(Action):
    """Common ending of an order flow: explain a blocker, or perform the step for the verified customer."""

    action_name = ""
    requires_order = True

    def name(self) -> str:
        return self.action_name

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        raise NotImplementedError

    def explain_blocker(self, dispatcher: CollectingDispatcher, tracker: Tracker, blocker: str) -> None:
        """Why the flow stopped (the form's reason); a flow may say more from the order's real state."""
        dispatcher.utter_message(text=blocker, buttons=[A_PERSON])

    @degrade_on_store_outage
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events = self.finish(dispatcher, tracker)
        return events + follow_up(dispatcher, tracker)  # then whatever else the customer asked for

    def finish(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        reset: list[EventType] = [SlotSet(slot, None) for slot in FLOW_SLOTS]
        blocker = tracker.get_slot(BLOCKER_SLOT)
        customer, number = verified_customer_id(tracker), tracker.get_slot("order_id")
        if blocker:
            self.explain_blocker(dispatcher, tracker, blocker)
            return reset
        if customer is None or (self.requires_order and not number):
            dispatcher.utter_message(text="I couldn't confirm the order details, so I haven't done anything. "
                                          "Let's try again whenever you're ready.")
            return reset
        try:
            return self.perform(dispatcher, tracker, order_desk(), customer, number) + reset
        except OrderDeskError as error:
            dispatcher.utter_message(text=str(error))
            return reset


class ConfirmedChangeAction(OrderFlowAction):
    """A change that only happens after an explicit yes."""

    kept_message = "OK, I haven't changed anything on order {number}."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
               number: str) -> None:
        raise NotImplementedError

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        assert number is not None
        if tracker.get_slot("confirmation") is not True:
            dispatcher.utter_message(text=self.kept_message.format(number=number))
            return []
        self.change(dispatcher, tracker, desk, customer, number)
        return []


class ActionTrackOrder(OrderFlowAction):
    action_name = "action_track_order"

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        order, now = desk.order(customer, number or ""), desk.now()
        buttons = []
        if order.status == "processing":
            buttons = [{"title": "Cancel this order", "payload": "/cancel_order"},
                       {"title": "Change delivery address", "payload": "/change_shipping_address"}]
        elif order.status == "delivered" and open_return(order) is None:
            buttons = [{"title": "Return it", "payload": "/get_refund"}]
        if needs_a_person(order, now):
            buttons.append(A_PERSON)
        dispatcher.utter_message(text=order_tracking(order, now), buttons=buttons or None)
        return []


class ActionCancelOrder(ConfirmedChangeAction):
    action_name = "action_cancel_order"
    kept_message = "OK, order {number} stays as it is; nothing was cancelled."

    def explain_blocker(self, dispatcher: CollectingDispatcher, tracker: Tracker, blocker: str) -> None:
        """An order that is already cancelled: what the customer wants to know is where the money is."""
        customer, number, desk = verified_customer_id(tracker), tracker.get_slot("order_id"), order_desk()
        cancelled = customer is not None and bool(number) and desk.order(customer, number).status == "cancelled"
        refunds = desk.refunds(customer, number) if cancelled else []
        if not refunds:
            super().explain_blocker(dispatcher, tracker, blocker)
            return
        now = desk.now()
        dispatcher.utter_message(text=f"{blocker} " + " ".join(refund_line(r, now) for r in refunds[:2]))

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
               number: str) -> None:
        refund = desk.cancel_order(customer, number)
        dispatcher.utter_message(text=f"Done: order {number} is cancelled. A full refund of "
                                      f"{money(refund.amount, refund.currency)} is on its way to your original "
                                      f"payment method ({refund_time(current_profile())}).")


class ActionChangeAddress(ConfirmedChangeAction):
    action_name = "action_change_address"
    kept_message = "OK, order {number} will still go to its original address."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
               number: str) -> None:
        order = desk.change_shipping_address(customer, number, tracker.get_slot("new_address") or "")
        dispatcher.utter_message(text=f"Done: order {number} will be delivered to “{order.shipping_address}”.")


class ActionOpenReturn(ConfirmedChangeAction):
    action_name = "action_open_return"
    kept_message = "OK, I haven't opened a return for order {number}."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
               number: str) -> None:
        request = desk.open_return(customer, number, tracker.get_slot("return_reason") or "")
        order = desk.order(customer, number)
        amount = money(request.refund.amount, order.currency) if request.refund else "the order total"
        profile, region = current_profile(), region_of(order)
        postage = (f"a free prepaid {region.carrier} returns label" if region is not None and region.free_returns
                   else f"the returns address and instructions (postage from outside {profile.home_region.place} is "
                        "at your own cost, so please use a tracked service)")
        dispatcher.utter_message(text=(
            f"Your return for order {number} is open (return #{request.id}). Within 1 business day we'll email "
            f"you {postage}. Once the items reach our {profile.warehouse.city} warehouse and are checked, your "
            f"refund of {amount} goes to your original payment method within {refund_time(profile)}."))

    def explain_blocker(self, dispatcher: CollectingDispatcher, tracker: Tracker, blocker: str) -> None:
        """A return already open is not a refusal: the customer wants to know where it (and the money) is."""
        customer, number = verified_customer_id(tracker), tracker.get_slot("order_id")
        if customer is not None and number:
            desk = order_desk()
            try:
                order = desk.order(customer, number)
            except OrderDeskError:
                order = None
            current = open_return(order) if order is not None else None
            if order is not None and current is not None:
                stuck = current.refund is not None and refund_needs_a_person(current.refund, desk.now())
                dispatcher.utter_message(text=return_status(current, order, desk.now()),
                                         buttons=[A_PERSON] if stuck else None)
                return
        super().explain_blocker(dispatcher, tracker, blocker)


class ActionTrackRefund(OrderFlowAction):
    action_name = "action_track_refund"
    requires_order = False

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        refunds = desk.refunds(customer, number)
        if not refunds:
            where = f"order {number}" if number else "your account"
            dispatcher.utter_message(text=f"There are no refunds on {where}. Refunds start when a return is "
                                          "received or an order is cancelled.",
                                     buttons=[{"title": "Start a return", "payload": "/get_refund"}])
            return []
        now = desk.now()
        stuck = any(refund_needs_a_person(r, now) for r in refunds[:5])
        dispatcher.utter_message(text="\n".join(refund_line(r, now) for r in refunds[:5]),
                                 buttons=[A_PERSON] if stuck else None)
        return []


class ActionGetInvoice(OrderFlowAction):
    action_name = "action_get_invoice"

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        invoice = desk.invoice(customer, number or "")
        dispatcher.utter_message(text=(
            f"Invoice **{invoice.number}** for order {invoice.order_number}: "
            f"{money(invoice.amount, invoice.currency)}, "
            f"issued {invoice.issued_at:%d %b %Y}. You can download it as a PDF under Account → Orders → "
            f"{invoice.order_number} → Invoice."))
        return []


class ActionListOrders(OrderFlowAction):
    action_name = "action_list_orders"
    requires_order = False

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderBackend, customer: int,
                number: str | None) -> list[EventType]:
        orders = desk.recent_orders(customer, limit=5)
        if not orders:
            dispatcher.utter_message(text="You don't have any orders with us yet.")
            return []
        now = desk.now()
        lines = ["Your most recent orders:"] + [f"- {order_line(o, now)}" for o in orders]
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=[{"title": f"Track {o.number}",
                                           "payload": f'/track_order{{"order_id":"{o.number}"}}'} for o in orders[:3]])
        return [SlotSet("order_id", orders[0].number)] if len(orders) == 1 else []  # "invoice for that one"



def _answer_directly(action: OrderFlowAction) -> LookUp:
    """A flow's look-up as a follow-up answer: for the verified customer only, and only if the order is theirs."""
    def look_up(dispatcher: CollectingDispatcher, tracker: Tracker, number: str | None) -> bool:
        customer = verified_customer_id(tracker)
        if customer is None or (action.requires_order and not number):
            return False
        try:
            action.perform(dispatcher, tracker, order_desk(), customer, number)
        except OrderDeskError:
            return False
        return True
    return look_up


READ_ONLY.update({"track_order": _answer_directly(ActionTrackOrder()),
                  "get_invoice": _answer_directly(ActionGetInvoice()),
                  "track_refund": _answer_directly(ActionTrackRefund())})
