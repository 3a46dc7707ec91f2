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
from actions.formatting import money, order_line, order_tracking, refund_line
from actions.identity import verified_customer_id
from actions.order_forms import BLOCKER_SLOT
from actions.resilience import degrade_on_store_outage
from store.service import OrderDesk, OrderDeskError

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
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
                           "to your original payment method within 3–5 business days.",
        }.get(form, "Shall I go ahead?")
        dispatcher.utter_message(text=question, buttons=YES_NO)
        return []


class OrderFlowAction(Action):
    """Common ending of an order flow: explain a blocker, or perform the step for the verified customer."""

    action_name = ""
    requires_order = True

    def name(self) -> str:
        return self.action_name

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
                number: str | None) -> list[EventType]:
        raise NotImplementedError

    @degrade_on_store_outage
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reset: list[EventType] = [SlotSet(slot, None) for slot in FLOW_SLOTS]
        blocker = tracker.get_slot(BLOCKER_SLOT)
        customer, number = verified_customer_id(tracker), tracker.get_slot("order_id")
        if blocker:
            dispatcher.utter_message(text=blocker, buttons=[{"title": "Talk to a person",
                                                             "payload": "/contact_human_agent"}])
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

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
               number: str) -> None:
        raise NotImplementedError

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
                number: str | None) -> list[EventType]:
        assert number is not None
        if tracker.get_slot("confirmation") is not True:
            dispatcher.utter_message(text=self.kept_message.format(number=number))
            return []
        self.change(dispatcher, tracker, desk, customer, number)
        return []


class ActionTrackOrder(OrderFlowAction):
    action_name = "action_track_order"

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
                number: str | None) -> list[EventType]:
        order = desk.order(customer, number or "")
        buttons = []
        if order.status == "processing":
            buttons = [{"title": "Cancel this order", "payload": "/cancel_order"},
                       {"title": "Change delivery address", "payload": "/change_shipping_address"}]
        elif order.status == "delivered":
            buttons = [{"title": "Return it", "payload": "/get_refund"}]
        dispatcher.utter_message(text=order_tracking(order), buttons=buttons or None)
        return []


class ActionCancelOrder(ConfirmedChangeAction):
    action_name = "action_cancel_order"
    kept_message = "OK, order {number} stays as it is; nothing was cancelled."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
               number: str) -> None:
        refund = desk.cancel_order(customer, number)
        dispatcher.utter_message(text=f"Done: order {number} is cancelled. A full refund of {money(refund.amount)} "
                                      "is on its way to your original payment method (3–5 business days).")


class ActionChangeAddress(ConfirmedChangeAction):
    action_name = "action_change_address"
    kept_message = "OK, order {number} will still go to its original address."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
               number: str) -> None:
        order = desk.change_shipping_address(customer, number, tracker.get_slot("new_address") or "")
        dispatcher.utter_message(text=f"Done: order {number} will be delivered to “{order.shipping_address}”.")


class ActionOpenReturn(ConfirmedChangeAction):
    action_name = "action_open_return"
    kept_message = "OK, I haven't opened a return for order {number}."

    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
               number: str) -> None:
        request = desk.open_return(customer, number, tracker.get_slot("return_reason") or "")
        dispatcher.utter_message(text=(
            f"Your return for order {number} is open (return #{request.id}). Please send the items back within "
            "14 days using the free returns label we've emailed you. Your refund of "
            f"{money(request.refund.amount) if request.refund else 'the order total'} starts as soon as they "
            "arrive."))


class ActionTrackRefund(OrderFlowAction):
    action_name = "action_track_refund"
    requires_order = False

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
                number: str | None) -> list[EventType]:
        refunds = desk.refunds(customer, number)
        if not refunds:
            where = f"order {number}" if number else "your account"
            dispatcher.utter_message(text=f"There are no refunds on {where}. Refunds start when a return is "
                                          "received or an order is cancelled.",
                                     buttons=[{"title": "Start a return", "payload": "/get_refund"}])
            return []
        dispatcher.utter_message(text="\n".join(refund_line(r) for r in refunds[:5]))
        return []


class ActionGetInvoice(OrderFlowAction):
    action_name = "action_get_invoice"

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
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

    def perform(self, dispatcher: CollectingDispatcher, tracker: Tracker, desk: OrderDesk, customer: int,
                number: str | None) -> list[EventType]:
        orders = desk.recent_orders(customer, limit=5)
        if not orders:
            dispatcher.utter_message(text="You don't have any orders with us yet.")
            return []
        lines = ["Your most recent orders:"] + [f"- {order_line(o)}" for o in orders]
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=[{"title": f"Track {o.number}",
                                           "payload": f'/track_order{{"order_id":"{o.number}"}}'} for o in orders[:3]])
        return []

