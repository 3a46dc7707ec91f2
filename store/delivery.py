"""The shop's delivery and refund promises as dates, so an answer can say whether one was kept.

The promises are the shop profile's (shop.yml): orders are dispatched within `dispatch_business_days`
(weekend orders on the next business day); a parcel not delivered by its expected date is late, and is
traced as lost its region's `lost_after_business_days` after that date; a refund reaches the original
payment method within `returns.refund_business_days` of it starting to process. Business days are Monday
to Friday (public holidays are not modelled).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shop_profile import current_profile
from shop_profile.model import Region
from store.views import OrderView, RefundView


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
    return add_business_days(placed, current_profile().delivery.dispatch_business_days)


def dispatch_delayed(order: OrderView, now: datetime) -> bool:
    """Still unshipped after its dispatch days."""
    return order.status == "processing" and now.date() > dispatch_due(order)


def region_of(order: OrderView) -> Region | None:
    """The delivery region the order goes to: by its country, else by its carrier (None: neither is known)."""
    delivery = current_profile().delivery
    if order.country:
        return delivery.region_for(order.country)
    carrier = order.shipment.carrier if order.shipment else None
    return next((r for r in delivery.regions if r.carrier == carrier), None)


def lost_after_business_days(order: OrderView) -> int:
    """How long after its due date a late parcel is traced as lost (region unknown: the longest wait)."""
    region = region_of(order)
    if region is not None:
        return region.lost_after_business_days
    return max(r.lost_after_business_days for r in current_profile().delivery.regions)


def delivery_late(order: OrderView, now: datetime) -> bool:
    """Shipped, not delivered, and its expected delivery day has passed (never late without one)."""
    shipment = order.shipment
    return (order.status == "shipped" and shipment is not None and shipment.delivered_at is None
            and shipment.estimated_delivery is not None and now.date() > shipment.estimated_delivery.date())


def lost_parcel_claim_from(order: OrderView) -> date | None:
    """From when a parcel that still hasn't arrived is traced with the carrier (a lost-parcel claim)."""
    if order.shipment is None or order.shipment.estimated_delivery is None:
        return None
    return add_business_days(order.shipment.estimated_delivery.date(), lost_after_business_days(order))


def return_deadline(order: OrderView) -> date | None:
    delivered = order.shipment.delivered_at if order.shipment else None
    return (delivered + timedelta(days=current_profile().returns.window_days)).date() if delivered else None


def refund_expected_by(refund: RefundView) -> date | None:
    """When a processing refund should be on the customer's statement (None unless processing)."""
    if refund.status != "processing":
        return None
    return add_business_days(refund.updated_at.date(), current_profile().returns.refund_business_days[1])
