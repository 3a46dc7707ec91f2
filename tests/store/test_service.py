from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Order, OrderStatus, Refund, RefundStatus, VerificationAttempt
from store.security import ThrottleEvent
from store.service import (
    LOCKED_OUT_MESSAGE,
    MAX_FAILED_VERIFICATIONS,
    MAX_FAILED_VERIFICATIONS_PER_DAY,
    VERIFICATION_LOCKOUT,
    NotAllowed,
    OrderDesk,
    OrderNotFound,
    address_problem,
    normalize_email,
    normalize_order_number,
    verification_keys,
)

ALICE, BOB = 10001, 10002  # ALICE: 900001 processing, 900002 shipped, 900003 delivered; BOB: 900004, C900005, 900006


def email_of(desk: OrderDesk, customer: int) -> str:
    view = desk.customer(customer)
    assert view is not None
    return view.email


def status_of(engine, number: str) -> str:
    with Session(engine) as s:
        return s.scalar(select(Order.status).where(Order.number == number)).value


@pytest.mark.parametrize(("text", "expected"), [
    ("536365", "536365"), ("#536365", "536365"), (" order 536365 ", "536365"), ("c581316", "C581316"),
    ("12", None), ("DROP TABLE orders", None), ("", None), (None, None), ("5" * 30, None),
])
def test_normalize_order_number(text, expected) -> None:
    assert normalize_order_number(text) == expected


def test_normalize_email() -> None:
    assert normalize_email(" Jane.Doe@Example.com ") == "jane.doe@example.com"
    assert normalize_email("not an email") is None
    assert normalize_email("a@b") is None


def test_orders_are_only_visible_to_their_owner(desk: OrderDesk) -> None:
    assert desk.order(ALICE, "900001").status == "processing"
    with pytest.raises(OrderNotFound) as not_yours:
        desk.order(BOB, "900001")
    with pytest.raises(OrderNotFound) as unknown:
        desk.order(BOB, "999999")
    # The same words for "not yours" and "doesn't exist", so nobody learns which order numbers are real.
    assert str(not_yours.value).replace("900001", "N") == str(unknown.value).replace("999999", "N")


def test_recent_orders_newest_first(desk: OrderDesk) -> None:
    assert [o.number for o in desk.recent_orders(ALICE)] == ["900001", "900002", "900003"]
    assert desk.recent_orders(424242) == []


def test_cancel_processing_order_refunds_it(desk: OrderDesk, engine) -> None:
    refund = desk.cancel_order(ALICE, "900001")
    assert status_of(engine, "900001") == "cancelled"
    assert refund.status == "processing" and refund.amount == desk.order(ALICE, "900001").total
    with pytest.raises(NotAllowed, match="already cancelled"):
        desk.cancel_order(ALICE, "900001")


def test_cannot_cancel_shipped_or_someone_elses_order(desk: OrderDesk, engine) -> None:
    assert "already shipped" in desk.cancellation_blocker(ALICE, "900002")
    with pytest.raises(NotAllowed, match="already shipped"):
        desk.cancel_order(ALICE, "900002")
    with pytest.raises(OrderNotFound):
        desk.cancel_order(BOB, "900001")
    assert status_of(engine, "900002") == "shipped"
    assert status_of(engine, "900001") == "processing"


def test_change_address_only_before_shipping(desk: OrderDesk) -> None:
    changed = desk.change_shipping_address(BOB, "900006", "  12 Rue de la Paix,\n75002 Paris, France ")
    assert changed.shipping_address == "12 Rue de la Paix, 75002 Paris, France"
    with pytest.raises(NotAllowed, match="can no longer be changed"):
        desk.change_shipping_address(ALICE, "900002", "1 New Street, LS1 1AA Leeds")
    with pytest.raises(NotAllowed, match="full address"):
        desk.change_shipping_address(BOB, "900006", "here")
    assert desk.order(BOB, "900006").shipping_address == changed.shipping_address


def test_address_problem() -> None:
    assert address_problem("10 Downing Street, London SW1A 2AA") is None
    assert address_problem("") is not None
    assert address_problem("no numbers in this address") is not None
    assert "too long" in address_problem("1 " + "x" * 400)


def test_return_within_window_for_delivered_order(desk: OrderDesk) -> None:
    assert desk.return_blocker(ALICE, "900003") is None
    opened = desk.open_return(ALICE, "900003", "arrived damaged")
    assert opened.status == "requested" and opened.refund is not None and opened.refund.status == "pending"
    with pytest.raises(NotAllowed, match="already open"):
        desk.open_return(ALICE, "900003", "again")
    assert [r.order_number for r in desk.returns(ALICE)] == ["900003"]


def test_return_refused_outside_window_or_before_delivery(desk: OrderDesk) -> None:
    with pytest.raises(NotAllowed, match="outside our return window"):
        desk.open_return(BOB, "900004", "too late")
    with pytest.raises(NotAllowed, match="only be opened for delivered"):
        desk.open_return(ALICE, "900002", "not arrived")


def test_return_window_uses_the_clock(engine) -> None:
    from sqlalchemy.orm import sessionmaker

    future = OrderDesk(sessionmaker(engine), clock=lambda: datetime.now() + timedelta(days=40))
    assert "outside our return window" in future.return_blocker(ALICE, "900003")


def test_refund_moves_through_states_and_completes_the_return(desk: OrderDesk, engine) -> None:
    opened = desk.open_return(ALICE, "900003", "wrong size")
    refund_id = opened.refund.id
    with pytest.raises(NotAllowed, match="can't become completed"):
        desk.advance_refund(refund_id, RefundStatus.COMPLETED)
    desk.advance_refund(refund_id, RefundStatus.PROCESSING)
    done = desk.advance_refund(refund_id, RefundStatus.COMPLETED)
    assert done.status == "completed"
    assert status_of(engine, "900003") == OrderStatus.RETURNED.value
    assert [r.status for r in desk.refunds(ALICE, "900003")] == ["completed"]
    with pytest.raises(NotAllowed):
        desk.advance_refund(999, RefundStatus.PROCESSING)


def test_refunds_are_per_customer(desk: OrderDesk) -> None:
    desk.cancel_order(BOB, "900006")
    assert [r.order_number for r in desk.refunds(BOB)] == ["900006"]
    assert desk.refunds(ALICE) == []
    with pytest.raises(OrderNotFound):
        desk.refunds(ALICE, "900006")


def test_invoice_by_number_or_order_and_only_for_owner(desk: OrderDesk) -> None:
    assert desk.invoice(ALICE, "INV-900003").order_number == "900003"
    assert desk.invoice(ALICE, "900003").number == "INV-900003"
    with pytest.raises(NotAllowed, match="couldn't find an invoice"):
        desk.invoice(BOB, "INV-900003")
    with pytest.raises(NotAllowed):
        desk.invoice(ALICE, "C900005")  # cancelled orders have no invoice


def test_verify_owner_and_lockout_after_repeated_failures(desk: OrderDesk, engine) -> None:
    alice_email = email_of(desk, ALICE)
    assert desk.verify_owner("conv-1", "900001", alice_email.upper()) == ALICE
    assert desk.verify_owner("conv-1", "900001", email_of(desk, BOB)) is None  # someone else's order
    assert desk.verify_owner("conv-1", "999999", alice_email) is None  # unknown order
    assert not desk.is_locked_out("conv-1")
    assert desk.verify_owner("conv-1", "not-a-number", alice_email) is None
    assert desk.is_locked_out("conv-1")
    with pytest.raises(NotAllowed, match="Too many unsuccessful attempts"):
        desk.verify_owner("conv-1", "900001", alice_email)  # even the right pair, while locked
    assert not desk.is_locked_out("conv-2")  # a conversation with nothing in common is unaffected
    with Session(engine) as s:
        assert len(s.scalars(select(VerificationAttempt)).all()) == 4  # the refused check was not evaluated


def test_failures_on_one_order_number_count_across_conversations_and_clients(desk: OrderDesk) -> None:
    for attempt in range(MAX_FAILED_VERIFICATIONS):
        assert desk.verify_owner(f"conv-{attempt}", "900001", f"guess{attempt}@example.com",
                                 client=f"10.0.0.{attempt}") is None
    with pytest.raises(NotAllowed) as refused:
        desk.verify_owner("conv-new", "900001", email_of(desk, ALICE), client="10.0.0.99")
    assert str(refused.value) == LOCKED_OUT_MESSAGE
    assert desk.is_locked_out("conv-other", "#900001")  # the same number, however it is written
    assert desk.verify_owner("conv-other", "900004", email_of(desk, BOB), client="10.0.0.98") == BOB


def test_failures_on_one_email_count_across_conversations(desk: OrderDesk) -> None:
    alice_email = email_of(desk, ALICE)
    for attempt, number in enumerate(("900004", "900006", "999998")):
        assert desk.verify_owner(f"conv-{attempt}", number, alice_email) is None
    with pytest.raises(NotAllowed):
        desk.verify_owner("conv-new", "900001", f"  {alice_email.upper()} ")  # her own order, but paused
    assert desk.is_locked_out("conv-x", email=alice_email)


def test_failures_from_one_client_count_across_conversations_and_details(desk: OrderDesk) -> None:
    for attempt in range(MAX_FAILED_VERIFICATIONS):
        desk.verify_owner(f"rest:attacker-{attempt}", f"95000{attempt}", f"x{attempt}@example.com", client="192.0.2.1")
    with pytest.raises(NotAllowed):
        desk.verify_owner("rest:attacker-new", "900004", email_of(desk, BOB), client="192.0.2.1")
    assert desk.is_locked_out("anything", client="192.0.2.1")
    assert not desk.is_locked_out("anything", client="192.0.2.2")


def test_refused_checks_are_not_evaluated_and_not_counted(desk: OrderDesk, engine) -> None:
    for attempt in range(MAX_FAILED_VERIFICATIONS):
        desk.verify_owner("conv-1", "999999", f"x{attempt}@example.com")
    with Session(engine) as s:
        before = (s.scalar(select(func.count()).select_from(VerificationAttempt)),
                  s.scalar(select(func.count()).select_from(ThrottleEvent)))
    for _ in range(5):
        with pytest.raises(NotAllowed):  # the right pair, refused before anything is looked up
            desk.verify_owner("conv-1", "900001", email_of(desk, ALICE))
    with Session(engine) as s:
        after = (s.scalar(select(func.count()).select_from(VerificationAttempt)),
                 s.scalar(select(func.count()).select_from(ThrottleEvent)))
    assert after == before  # nothing evaluated, and a locked client can't spread failures to other emails
    assert not desk.is_locked_out("conv-2", "900001", email_of(desk, ALICE))


def test_a_success_does_not_reset_failures(desk: OrderDesk) -> None:
    alice_email = email_of(desk, ALICE)
    desk.verify_owner("conv-1", "999991", alice_email)
    desk.verify_owner("conv-1", "999992", alice_email)
    assert desk.verify_owner("conv-1", "900001", alice_email) == ALICE  # own order, between guesses
    assert desk.verify_owner("conv-1", "999993", alice_email) is None  # the 3rd failure is still evaluated
    with pytest.raises(NotAllowed):
        desk.verify_owner("conv-1", "900001", alice_email)  # the 4th check is not


def test_the_fourth_check_is_refused_whatever_order_it_names(desk: OrderDesk) -> None:
    """The refusal says the same for a real order and an unknown one: nothing to learn from it."""
    messages = []
    for number in ("900001", "999999"):
        for attempt in range(MAX_FAILED_VERIFICATIONS):
            desk.verify_owner(f"conv-{number}-{attempt}", number, f"guess{attempt}@example.org")
        with pytest.raises(NotAllowed) as refused:
            desk.verify_owner(f"conv-{number}-last", number, email_of(desk, ALICE))
        messages.append(str(refused.value))
    assert messages[0] == messages[1] == LOCKED_OUT_MESSAGE


def test_concurrent_guesses_evaluate_at_most_the_limit(engine) -> None:
    """Guesses racing in from several servers at once can't slip past the count (checked before evaluating)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from sqlalchemy.orm import sessionmaker

    desk, start = OrderDesk(sessionmaker(engine, expire_on_commit=False)), Barrier(8)

    def attempt(i: int) -> str:
        start.wait()
        try:
            return "found" if desk.verify_owner(f"conv-race-{i}", "900001", f"race{i}@example.com") else "no"
        except NotAllowed:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("no") <= MAX_FAILED_VERIFICATIONS and "found" not in outcomes
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(VerificationAttempt)) <= MAX_FAILED_VERIFICATIONS


def test_lockout_expires(engine) -> None:
    from sqlalchemy.orm import sessionmaker

    now = datetime.now()
    desk = OrderDesk(sessionmaker(engine), clock=lambda: now)
    for _ in range(3):
        desk.verify_owner("conv-x", "999999", "a@b.co")
    assert desk.is_locked_out("conv-x")
    assert desk.is_locked_out("conv-y", "999999")
    later = OrderDesk(sessionmaker(engine), clock=lambda: now + VERIFICATION_LOCKOUT + timedelta(minutes=1))
    assert not later.is_locked_out("conv-x")
    assert later.verify_owner("conv-x", "900001", email_of(later, ALICE)) == ALICE


def test_a_daily_cap_stops_the_slow_drip(engine) -> None:
    """Three guesses every quarter of an hour stay under the short window, not under the daily cap."""
    from sqlalchemy.orm import sessionmaker

    start = datetime.now()
    for guess in range(MAX_FAILED_VERIFICATIONS_PER_DAY):
        at = start + (VERIFICATION_LOCKOUT + timedelta(minutes=1)) * (guess // MAX_FAILED_VERIFICATIONS)
        desk = OrderDesk(sessionmaker(engine), clock=lambda at=at: at)
        assert desk.verify_owner(f"conv-{guess}", f"99{guess:04d}", email_of(desk, ALICE)) is None
    later = start + (VERIFICATION_LOCKOUT + timedelta(minutes=1)) * 4
    desk = OrderDesk(sessionmaker(engine), clock=lambda: later)
    assert desk.is_locked_out("conv-new", email=email_of(desk, ALICE))
    with pytest.raises(NotAllowed):
        desk.verify_owner("conv-new", "900001", email_of(desk, ALICE))  # even the right order: not evaluated
    next_day = OrderDesk(sessionmaker(engine), clock=lambda: start + timedelta(days=1, minutes=1))
    assert next_day.verify_owner("conv-new", "900001", email_of(next_day, ALICE)) == ALICE


def test_throttle_rows_hold_no_identifiers(desk: OrderDesk, engine) -> None:
    desk.verify_owner("conv-private", "999999", "someone@example.com", client="203.0.113.5")
    with Session(engine) as s:
        stored = " ".join(e.key for e in s.scalars(select(ThrottleEvent)))
    assert len(verification_keys("conv-private", "999999", "someone@example.com", "203.0.113.5")) == 4
    for secret in ("someone", "203.0.113.5", "999999", "conv-private"):
        assert secret not in stored


def test_bad_input_changes_nothing(desk: OrderDesk, engine) -> None:
    with Session(engine) as s:
        before = s.scalars(select(Refund)).all()
    for bad in ["", "' OR 1=1 --", "9" * 25, "\x00\x01"]:
        with pytest.raises(OrderNotFound):
            desk.cancel_order(ALICE, bad)
    with Session(engine) as s:
        assert s.scalars(select(Refund)).all() == before
    assert status_of(engine, "900001") == "processing"
