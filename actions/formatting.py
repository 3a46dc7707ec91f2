"""How order data reads in a chat message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from store.views import OrderView, RefundView

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
STATUS_WORDS = {
    "processing": "being prepared (not shipped yet)",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}


def money(amount: Decimal, currency: str = "GBP") -> str:
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{amount:,.2f}"


def day(moment: datetime) -> str:
    return f"{moment:%a %d %b %Y}".replace(" 0", " ")


def order_line(order: OrderView) -> str:
    items = f"{order.item_count} item{'s' if order.item_count != 1 else ''}"
    return (f"**{order.number}** — {day(order.placed_at)}, {items}, {money(order.total, order.currency)}: "
            f"{STATUS_WORDS.get(order.status, order.status)}")


def order_tracking(order: OrderView) -> str:
    lines = [f"Order **{order.number}** ({day(order.placed_at)}, {money(order.total, order.currency)}) is "
             f"{STATUS_WORDS.get(order.status, order.status)}."]
    shipment = order.shipment
    if order.status == "processing":
        lines.append("It will be dispatched within 1 business day; you can still cancel it or change its address.")
    if shipment is not None:
        lines.append(f"Carrier: {shipment.carrier}, tracking number {shipment.tracking_number}.")
        if shipment.delivered_at:
            lines.append(f"Delivered on {day(shipment.delivered_at)}.")
        else:
            lines.append(f"Expected delivery: {day(shipment.estimated_delivery)}.")
        for event in shipment.events[-3:]:
            lines.append(f"- {day(event.occurred_at)}: {event.status.replace('_', ' ')} ({event.location})")
    return "\n".join(lines)


def refund_line(refund: RefundView) -> str:
    status = {"pending": "pending (waiting for your return to arrive)",
              "processing": "being processed (3–5 business days to your original payment method)",
              "completed": "completed", "failed": "failed — our team has been notified"}[refund.status]
    return (f"Refund of {money(refund.amount)} for order **{refund.order_number}**: {status} "
            f"(updated {day(refund.updated_at)}).")
