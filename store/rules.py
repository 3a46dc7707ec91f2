"""The shop's rules for changing an order, read from what an order *is*, not from where it is kept.

The same functions judge an ORM `Order` (the SQL store, inside its write transaction) and an `OrderView`
(an order that came over HTTP from the shop's own order API), so both backends refuse the same things in the
same words. Statuses are compared as strings: the ORM's enums are StrEnums and a view's are plain strings.
A blocker is a message for the customer, or None when the change may go ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shop_profile import current_profile


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


class _Delivery(Protocol):
    @property
    def delivered_at(self) -> datetime | None: ...


class OrderFacts(Protocol):
    """What the rules read of an order (store.models.Order and store.views.OrderView both have it)."""

    @property
    def number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def shipment(self) -> _Delivery | None: ...
    @property
    def returns(self) -> Sequence[_HasStatus]: ...


def return_window_days() -> int:
    return current_profile().returns.window_days


def cancellation_blocker(order: OrderFacts) -> str | None:
    match str(order.status):
        case "processing":
            return None
        case "cancelled":
            return f"Order {order.number} is already cancelled."
        case "shipped":
            return (f"Order {order.number} has already shipped, so it can't be cancelled any more. "
                    f"Once it arrives you can return it within {return_window_days()} days for a full refund.")
        case status:
            return (f"Order {order.number} has already been {status}, so it can't be "
                    f"cancelled. You can start a return instead if it is within {return_window_days()} days of "
                    "delivery.")


def address_change_blocker(order: OrderFacts) -> str | None:
    if str(order.status) == "processing":
        return None
    return (f"Order {order.number} is {order.status}, so its delivery address can no longer be "
            "changed. Only orders that haven't shipped yet can be redirected.")


def return_blocker(order: OrderFacts, now: datetime) -> str | None:
    status = str(order.status)
    if status == "processing":
        return (f"Order {order.number} hasn't shipped yet, so there's nothing to return and no refund to wait "
                "for: you can cancel it instead, free of charge and with a full refund.")
    if status != "delivered":
        return (f"Order {order.number} is {status}; returns can only be opened for "
                "delivered orders.")
    if any(str(r.status) != "rejected" for r in order.returns):
        return f"A return for order {order.number} is already open."
    delivered = order.shipment.delivered_at if order.shipment else None
    window = return_window_days()
    if delivered is None or now - delivered > timedelta(days=window):
        return (f"Order {order.number} was delivered more than {window} days ago, so it is "
                "outside our return window.")
    return None
