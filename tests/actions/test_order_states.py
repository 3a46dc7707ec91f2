"""Order answers follow the order's real state: late, delayed, delivered, refunds with amounts and dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from actions.formatting import needs_a_person, order_line, order_tracking, refund_line, refund_needs_a_person
from actions.orders import ActionOpenReturn, ActionTrackRefund
from store.delivery import add_business_days, dispatch_due
from store.models import RefundStatus
from store.views import LineView, OrderView, RefundView, ShipmentView, TrackingEventView
from tests.actions.conftest import make_tracker, run_action, token_for

MON = datetime(2026, 11, 2, 10, 0)  # a Monday
ALICE = 10001


def order(status: str, placed: datetime = MON, shipped: datetime | None = None, due: datetime | None = None,
          delivered: datetime | None = None, country: str = "United Kingdom") -> OrderView:
    shipment = None
    if shipped is not None:
        carrier = "Royal Mail" if country == "United Kingdom" else "DHL"
        shipment = ShipmentView(carrier, "RM123GB", "delivered" if delivered else "in_transit", shipped,
                                due or shipped + timedelta(days=2), delivered,
                                (TrackingEventView("in_transit", shipped, f"{carrier} sorting centre"),))
    return OrderView("581146", 7, status, placed, Decimal("12.50"), "GBP", "1 High St, Leeds LS1 1AB", (
        LineView("22752", "Nesting Boxes", 3, Decimal("4.1666")),), shipment, None, country=country)


def refund(status: str, updated: datetime, reason: str = "return") -> RefundView:
    return RefundView(1, "581146", Decimal("12.50"), status, MON, updated, reason=reason,
                      return_status="received" if reason == "return" else None)


def test_business_days() -> None:
    assert add_business_days(MON.date(), 1).weekday() == 1
    assert add_business_days(MON.date() + timedelta(days=4), 1).weekday() == 0  # Friday + 1 -> Monday
    assert dispatch_due(order("processing", placed=MON + timedelta(days=5))).weekday() == 0  # Saturday -> Monday


def test_processing_on_time_says_when_it_ships() -> None:
    text = order_tracking(order("processing"), MON + timedelta(hours=5))
    assert "should leave our warehouse by Tue 3 Nov 2026" in text and "late" not in text and "delayed" not in text
    assert not needs_a_person(order("processing"), MON + timedelta(hours=5))


def test_unshipped_after_a_business_day_is_delayed_with_options() -> None:
    now = MON + timedelta(days=2)
    text = order_tracking(order("processing"), now)
    assert "delayed" in text and "sorry" in text and "Tue 3 Nov 2026" in text
    assert "cancel it free of charge for a full refund of £12.50" in text and "talk to a person" in text
    assert "within 1 business day" not in text  # no promise that was already broken
    assert needs_a_person(order("processing"), now) and "delayed" in order_line(order("processing"), now)
    weekend = order("processing", placed=MON + timedelta(days=5))  # Saturday: due Monday
    assert "delayed" not in order_tracking(weekend, MON + timedelta(days=7))
    assert "delayed" in order_tracking(weekend, MON + timedelta(days=8))


def test_a_late_parcel_is_called_late_with_its_due_date_and_what_happens_next() -> None:
    late = order("shipped", shipped=MON + timedelta(days=1), due=MON + timedelta(days=3))  # due Thursday
    text = order_tracking(late, MON + timedelta(days=4))
    assert "is late, I'm sorry: it was due on Thu 5 Nov 2026" in text and "Royal Mail" in text
    assert "If it hasn't arrived by Thu 12 Nov 2026 (5 business days after the due date)" in text
    assert "replacement or refund you in full" in text and "talk to a person" in text
    assert "Expected delivery" not in text and needs_a_person(late, MON + timedelta(days=4))
    overdue = order_tracking(late, MON + timedelta(days=20))
    assert "more than 5 business days overdue" in overdue and "open the claim" in overdue


def test_international_parcels_wait_ten_business_days_before_a_claim() -> None:
    late = order("shipped", shipped=MON + timedelta(days=1), due=MON + timedelta(days=3), country="France")
    assert "(10 business days after the due date)" in order_tracking(late, MON + timedelta(days=4))


def test_on_time_and_delivered() -> None:
    moving = order("shipped", shipped=MON + timedelta(days=1), due=MON + timedelta(days=3))
    text = order_tracking(moving, MON + timedelta(days=2))
    assert "on its way with Royal Mail" in text and "Expected delivery: Thu 5 Nov 2026" in text
    assert "late" not in text and not needs_a_person(moving, MON + timedelta(days=2))
    done = order("delivered", shipped=MON + timedelta(days=1), delivered=MON + timedelta(days=3, hours=2))
    text = order_tracking(done, MON + timedelta(days=5))
    assert "was delivered on Thu 5 Nov 2026" in text and "return it until Sat 5 Dec 2026" in text


def test_refund_answers_give_amount_status_and_dates() -> None:
    processing = refund("processing", MON)
    text = refund_line(processing, MON + timedelta(days=1))
    assert ("Refund of £12.50 for order **581146**: being processed since Mon 2 Nov 2026 (we received your "
            "return)") in text
    assert "should reach your original payment method by Mon 9 Nov 2026" in text
    assert not refund_needs_a_person(processing, MON + timedelta(days=1))
    overdue = refund_line(processing, MON + timedelta(days=10))
    assert "should have reached" in overdue and "sorry" in overdue
    assert refund_needs_a_person(processing, MON + timedelta(days=10))
    assert "pending" in refund_line(refund("pending", MON), MON)
    assert "completed on Mon 2 Nov 2026" in refund_line(refund("completed", MON), MON)
    assert "the order was cancelled" in refund_line(refund("processing", MON, reason="cancellation"), MON)


def test_asking_for_a_return_again_gives_the_returns_real_state(desk, domain) -> None:
    """"I sent my return back ages ago, still no money": the return is open, so say where it and the money are."""
    opened = desk.open_return(ALICE, "900003", "arrived damaged")
    desk.advance_refund(opened.refund.id, RefundStatus.PROCESSING)
    blocker = desk.return_blocker(ALICE, "900003")
    assert "already open" in blocker
    meta = {"customer_token": token_for(ALICE)}
    _, texts = run_action(ActionOpenReturn(), make_tracker(
        slots={"order_id": "900003", "order_blocker": blocker}, metadata=meta), domain)
    assert "already open" not in texts[0]
    assert f"You already have a return open for order **900003** (return #{opened.id}" in texts[0]
    assert "Refund of £" in texts[0] and "being processed since" in texts[0] and "should reach" in texts[0]
    _, refund_texts = run_action(ActionTrackRefund(), make_tracker(slots={"order_id": "900003"}, metadata=meta),
                                 domain)
    assert "being processed since" in refund_texts[0] and "900003" in refund_texts[0]
