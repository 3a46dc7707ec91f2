"""How order data reads in a chat message: what a good support agent would tell the customer.

Every answer follows the order's real state (store.delivery says which promise was kept or broken): a late
parcel is called late, with its due date, an apology and what happens next; an order still unshipped after
its dispatch day is called delayed, with free cancellation on offer; a refund says its amount, where it
stands and when the money should arrive. The facts (days to dispatch, business days before a lost-parcel
claim, days for a refund, the return window, the warehouse) are the shop profile's (shop.yml).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from shop_profile import current_profile
from shop_profile.wording import dispatch_time, refund_time
from shop_profile.wording import money as _money
from store.delivery import (
    delivery_late,
    dispatch_delayed,
    dispatch_due,
    lost_after_business_days,
    lost_parcel_claim_from,
    refund_expected_by,
    return_deadline,
)
from store.views import OrderView, RefundView, ReturnView, ShipmentView

STATUS_WORDS = {
    "processing": "being prepared (not shipped yet)",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}
RETURN_WORDS = {
    "requested": "requested: the returns label and instructions are emailed to you within 1 business day",
    "approved": "approved: the returns label has been emailed to you, so the items can go back",
    "completed": "completed",
    "rejected": "rejected (the items are sent back to you)",
}


def money(amount: Decimal, currency: str | None = None) -> str:
    """An amount in `currency` (an order's own), else in the shop's currency."""
    return _money(amount, currency or current_profile().money.currency)


def return_words(status: str) -> str:
    if status == "received":
        return f"received at our {current_profile().warehouse.city} warehouse and checked"
    return RETURN_WORDS.get(status, status)


def day(moment: datetime | date) -> str:
    return f"{moment:%a %d %b %Y}".replace(" 0", " ")


def _items(order: OrderView) -> str:
    return f"{order.item_count} item{'s' if order.item_count != 1 else ''}"


def status_words(order: OrderView, now: datetime) -> str:
    """The order's state in a few words, late and delayed included."""
    if dispatch_delayed(order, now):
        return f"delayed: not shipped yet (was due to ship by {day(dispatch_due(order))})"
    if delivery_late(order, now) and order.shipment and order.shipment.estimated_delivery:
        return f"late: on its way, was due {day(order.shipment.estimated_delivery)}"
    if order.status == "delivered" and order.shipment and order.shipment.delivered_at:
        return f"delivered {day(order.shipment.delivered_at)}"
    return STATUS_WORDS.get(order.status, order.status)


def order_line(order: OrderView, now: datetime | None = None) -> str:
    state = status_words(order, now or datetime.now())
    total = money(order.total, order.currency)
    return f"**{order.number}** — {day(order.placed_at)}, {_items(order)}, {total}: {state}"


def order_tracking(order: OrderView, now: datetime | None = None) -> str:
    """Where the order is, whether that is on time, and what the customer can do about it."""
    now = now or datetime.now()
    head = f"Order **{order.number}** (placed {day(order.placed_at)}, {money(order.total, order.currency)})"
    shipment = order.shipment
    if order.status == "processing":
        due, total = dispatch_due(order), money(order.total, order.currency)
        if dispatch_delayed(order, now):
            return (f"{head} hasn't left our warehouse yet. It should have been dispatched by {day(due)}, so it's "
                    "delayed, and I'm sorry about that. You can wait for it (we email the tracking number as soon "
                    f"as it ships), cancel it free of charge for a full refund of {total}, change its delivery "
                    "address, or talk to a person.")
        return (f"{head} is being prepared and hasn't shipped yet. We dispatch within "
                f"{dispatch_time(current_profile())}, so it "
                f"should leave our warehouse by {day(due)} and we'll email you the tracking number. Until then "
                "you can still cancel it or change its delivery address.")
    if order.status == "shipped" and shipment is not None:
        parcel, expected = _parcel(shipment), shipment.estimated_delivery
        dispatched = f", dispatched {day(shipment.shipped_at)}" if shipment.shipped_at else ""
        if delivery_late(order, now) and expected:
            return "\n".join([f"{head} is late, I'm sorry: it was due on {day(expected)} and "
                              f"hasn't been delivered yet. It's with {parcel}{dispatched}.{_latest_event(order)}",
                              _late_options(order, now)])
        lines = [f"{head} is on its way with {parcel}{dispatched}."
                 + (f" Expected delivery: {day(expected)}." if expected else "")]
        lines += [f"- {day(e.occurred_at)}: {e.status.replace('_', ' ')} ({e.location})" for e in shipment.events[-3:]]
        return "\n".join(lines)
    if order.status == "delivered":
        delivered = shipment.delivered_at if shipment else None
        known = shipment is not None and (shipment.carrier or shipment.tracking_number)
        text = f"{head} was delivered" + (f" on {day(delivered)}" if delivered else "") + (
            f" by {_parcel(shipment)}." if shipment and known else ".")
        if current := open_return(order):
            return f"{text} {return_status(current, order, now)}"
        deadline = return_deadline(order)
        if deadline and deadline >= now.date():
            text += f" If something isn't right, you can return it until {day(deadline)}."
        return text
    if order.status == "cancelled":
        when = f" on {day(order.cancelled_at)}" if order.cancelled_at else ""
        refund = f" {refund_line(order.refunds[0], now)}" if order.refunds else ""
        return f"{head} was cancelled{when}.{refund}"
    if order.status == "returned":
        refund = f" {refund_line(order.refunds[0], now)}" if order.refunds else ""
        return f"{head} was returned.{refund}"
    return f"{head} is {STATUS_WORDS.get(order.status, order.status)}."


def _latest_event(order: OrderView) -> str:
    events = order.shipment.events if order.shipment else ()
    if not events:
        return ""
    last = events[-1]
    return f" Latest update: {last.status.replace('_', ' ')} ({last.location}), {day(last.occurred_at)}."


def _parcel(shipment: ShipmentView) -> str:
    """The carrier and its tracking number, or as much of it as the shop's data gives."""
    carrier = shipment.carrier or "the carrier"
    return f"{carrier} (tracking number {shipment.tracking_number})" if shipment.tracking_number else carrier


def _late_options(order: OrderView, now: datetime) -> str:
    assert order.shipment is not None
    claim_from, carrier = lost_parcel_claim_from(order), order.shipment.carrier or "the carrier"
    days = lost_after_business_days(order)
    if claim_from and now.date() < claim_from:
        return (f"Late parcels usually still turn up within a few days. If it hasn't arrived by {day(claim_from)} "
                f"({days} business days after the due date), we'll trace it with {carrier} and, if it's lost, "
                "send a replacement or refund you in full. You can also talk to a person now.")
    return (f"It's now more than {days} business days overdue, so we'll trace it with {carrier}: talk to a person "
            "and they'll open the claim. If it's lost, we send a replacement or refund you in full.")


def open_return(order: OrderView) -> ReturnView | None:
    """The order's return in progress (not rejected), newest first."""
    return next((r for r in order.returns if r.status != "rejected"), None)


def return_status(request: ReturnView, order: OrderView, now: datetime | None = None) -> str:
    """A return already open: where it stands and where its refund stands."""
    now = now or datetime.now()
    text = (f"You already have a return open for order **{order.number}** (return #{request.id}, opened "
            f"{day(request.created_at)}): it is {return_words(request.status)}.")
    if request.refund is not None:
        text += f" {refund_line(request.refund, now)}"
    return text


def refund_line(refund: RefundView, now: datetime | None = None) -> str:
    """A refund's amount, state and dates, and when the money should arrive."""
    now = now or datetime.now()
    what = f"Refund of {money(refund.amount, refund.currency)} for order **{refund.order_number}**"
    since = day(refund.updated_at)
    if refund.status == "pending":
        waiting = ("the returns label is on its way to you" if refund.return_status == "requested" else
                   f"we're waiting for the items to reach our {current_profile().warehouse.city} warehouse")
        return (f"{what}: pending, {waiting}. Once they arrive and are checked, we refund your original payment "
                f"method within {refund_time(current_profile())}.")
    if refund.status == "processing":
        origin = "we received your return" if refund.reason == "return" else "the order was cancelled"
        expected = refund_expected_by(refund)
        if expected is None or now.date() <= expected:
            return (f"{what}: being processed since {since} ({origin}). It should reach your original payment "
                    f"method by {day(expected) if expected else 'within ' + refund_time(current_profile())}.")
        return (f"{what}: processing since {since} ({origin}), so it should have reached your original payment "
                f"method by {day(expected)}. I'm sorry it's taking longer: a person from our team can chase it "
                "for you.")
    if refund.status == "completed":
        return (f"{what}: completed on {since}, paid to your original payment method. Your bank may take a few "
                "more days to show it on your statement.")
    if refund.status == "failed":
        return (f"{what}: the payment failed on {since}. I'm sorry: our team has been notified and will sort it "
                "out, or you can talk to a person now.")
    return f"{what}: {refund.status} (updated {since})."


def needs_a_person(order: OrderView, now: datetime | None = None) -> bool:
    """Whether the answer offers a person: a late or delayed order."""
    now = now or datetime.now()
    return dispatch_delayed(order, now) or delivery_late(order, now)


def refund_needs_a_person(refund: RefundView, now: datetime | None = None) -> bool:
    """A failed refund, or one still processing after its expected date."""
    expected = refund_expected_by(refund)
    return refund.status == "failed" or (expected is not None and (now or datetime.now()).date() > expected)
