"""The shop's delivery and refund promises as dates, so an answer can say whether one was kept.

From knowledge/docs: orders are dispatched within 1 business day (weekend orders on the next business day);
a parcel not delivered by its expected date is late, and is traced as lost 5 business days after that date
in the UK (10 abroad); a refund reaches the original payment method 3 to 5 business days after it starts
processing. Business days are Monday to Friday (UK bank holidays are not modelled).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from store.addresses import DOMESTIC
from store.views import OrderView, RefundView

DISPATCH_BUSINESS_DAYS = 1
LOST_AFTER_BUSINESS_DAYS = {True: 5, False: 10}  # domestic?
REFUND_BUSINESS_DAYS = (3, 5)
RETURN_WINDOW_DAYS = 30


def is_business_day(day: date) -> bool:
    return day.weekday() < 5


def add_business_days(day: date, count: int) -> date:
    """The business day `count` business days after `day` (from a weekend, counting starts on Monday)."""
    while count > 0 or not is_business_day(day):
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def dispatch_due(order: OrderView) -> date:
    """The last day the order should leave the warehouse."""
    placed = order.placed_at.date()
    if not is_business_day(placed):  # dispatched on the next business day
        return add_business_days(placed, 0)
    return add_business_days(placed, DISPATCH_BUSINESS_DAYS)


def dispatch_delayed(order: OrderView, now: datetime) -> bool:
    """Still unshipped after more than 1 business day."""
    return order.status == "processing" and now.date() > dispatch_due(order)


def is_domestic(order: OrderView) -> bool:
    if order.country:
        return order.country in DOMESTIC
    return bool(order.shipment and order.shipment.carrier == "Royal Mail")


def delivery_late(order: OrderView, now: datetime) -> bool:
    """Shipped, not delivered, and its expected delivery day has passed (never late without one)."""
    shipment = order.shipment
    return (order.status == "shipped" and shipment is not None and shipment.delivered_at is None
            and shipment.estimated_delivery is not None and now.date() > shipment.estimated_delivery.date())


def lost_parcel_claim_from(order: OrderView) -> date | None:
    """From when a parcel that still hasn't arrived is traced with the carrier (a lost-parcel claim)."""
    if order.shipment is None or order.shipment.estimated_delivery is None:
        return None
    days = LOST_AFTER_BUSINESS_DAYS[is_domestic(order)]
    return add_business_days(order.shipment.estimated_delivery.date(), days)


def return_deadline(order: OrderView) -> date | None:
    delivered = order.shipment.delivered_at if order.shipment else None
    return (delivered + timedelta(days=RETURN_WINDOW_DAYS)).date() if delivered else None


def refund_expected_by(refund: RefundView) -> date | None:
    """When a processing refund should be on the customer's statement (None unless processing)."""
    if refund.status != "processing":
        return None
    return add_business_days(refund.updated_at.date(), REFUND_BUSINESS_DAYS[1])
