"""The order forms and flows, run as the action server runs them, against a real store database."""

from __future__ import annotations

from actions.input_problems import ActionExplainInvalidInput
from actions.order_forms import (
    LAST_TRY,
    NO_MATCH,
    ValidateCancelOrderForm,
    ValidateChangeAddressForm,
    ValidateInvoiceForm,
    ValidateListOrdersForm,
    ValidateReturnForm,
    ValidateTrackOrderForm,
)
from actions.orders import (
    ActionAskConfirmation,
    ActionCancelOrder,
    ActionChangeAddress,
    ActionGetInvoice,
    ActionListOrders,
    ActionOpenReturn,
    ActionTrackOrder,
    ActionTrackRefund,
)
from store.service import LOCKED_OUT_MESSAGE
from tests.actions.conftest import make_tracker, run_action, slot_events, token_for

ALICE, BOB = 10001, 10002


def test_verified_customer_tracks_own_order_without_email(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, texts = run_action(ValidateTrackOrderForm(), make_tracker(
        candidates={"order_id": "#900002"}, metadata=meta, active_loop="track_order_form"), domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900002" and slots["requested_slot"] is None and texts == []
    _, texts = run_action(ActionTrackOrder(), make_tracker(slots={"order_id": "900002"}, metadata=meta), domain)
    # placed 4 days before the newest order, due 3 days after it: the seeded parcel is late by now
    assert "is late, I'm sorry" in texts[0] and "Royal Mail" in texts[0]


def test_unverified_customer_is_asked_for_email_and_wrong_pair_reveals_nothing(desk, domain) -> None:
    events, _ = run_action(ValidateTrackOrderForm(), make_tracker(
        candidates={"order_id": "900002"}, active_loop="track_order_form"), domain)
    # Same slots as the domain lists: Rasa's form itself asks for the next one (the email).
    assert "requested_slot" not in slot_events(events)

    bob_email = desk.customer(BOB).email
    events, texts = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"order_id": "900002"}, candidates={"email": bob_email}, active_loop="track_order_form"), domain)
    assert texts == [NO_MATCH]
    assert slot_events(events)["order_id"] is None and slot_events(events).get("customer_id") is None
    _, unknown_texts = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"order_id": "999999"}, candidates={"email": bob_email}, active_loop="track_order_form",
        sender="conv-other"), domain)
    assert unknown_texts == texts  # unknown order and someone else's order read the same


def test_order_id_and_email_prove_identity(desk, domain) -> None:
    alice_email = desk.customer(ALICE).email
    events, _ = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"order_id": "900001"}, candidates={"email": alice_email.upper()}, active_loop="track_order_form"),
        domain)
    slots = slot_events(events)
    assert slots["customer_id"] == str(ALICE) and slots["requested_slot"] is None


def guess(domain, number: str, email: str, sender: str, client: str | None = None):
    """One order-number + email check as the form runs it (the email answers the email question)."""
    metadata = {"shopdesk_client": client} if client else {}
    events, texts = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"order_id": number, "requested_slot": "email"}, candidates={"email": email},
        active_loop="track_order_form", sender=sender, metadata=metadata), domain)
    return slot_events(events), texts


def test_three_failures_pause_look_ups_for_those_details(desk, domain) -> None:
    for attempt in range(2):
        slots, texts = guess(domain, "900001", f"wrong{attempt}@example.com", "conv-locked")
        assert texts == [NO_MATCH] and not slots.get("order_blocker")
    slots, texts = guess(domain, "900001", "wrong2@example.com", "conv-locked")
    assert slots["order_blocker"] == LAST_TRY and "paused order look-ups" in LAST_TRY
    assert slots["requested_slot"] is None and texts == []
    alice_email = desk.customer(ALICE).email
    slots, _ = guess(domain, "900001", alice_email, "conv-locked")
    assert slots["order_blocker"] == LOCKED_OUT_MESSAGE and slots.get("customer_id") is None
    # A new conversation does not help: the order number itself is paused...
    slots, _ = guess(domain, "900001", alice_email, "conv-fresh")
    assert slots["order_blocker"] == LOCKED_OUT_MESSAGE and slots.get("customer_id") is None
    # ...and a paused unknown order reads exactly like a paused real one.
    for attempt in range(3):
        guess(domain, "999999", f"wrong{attempt}@example.com", f"conv-unknown-{attempt}")
    slots, _ = guess(domain, "999999", alice_email, "conv-unknown-x")
    assert slots["order_blocker"] == LOCKED_OUT_MESSAGE


def test_failures_count_per_client_address_across_conversations(desk, domain) -> None:
    for attempt in range(3):
        guess(domain, f"90000{attempt + 1}", f"nobody{attempt}@example.com", f"conv-{attempt}", client="203.0.113.9")
    bob_email = desk.customer(BOB).email
    slots, _ = guess(domain, "900006", bob_email, "conv-new", client="203.0.113.9")
    assert slots["order_blocker"] == LOCKED_OUT_MESSAGE and slots.get("customer_id") is None
    slots, _ = guess(domain, "900006", bob_email, "conv-elsewhere", client="198.51.100.7")
    assert slots["customer_id"] == str(BOB)  # another client with the right details is unaffected


def test_malformed_order_number_gets_a_clear_message(desk, domain) -> None:
    events, texts = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"requested_slot": "order_id"}, candidates={"order_id": "my parcel"}, active_loop="track_order_form"),
        domain)
    assert slot_events(events)["order_id"] is None and "doesn't look like an order number" in texts[0]


def test_two_order_numbers_in_one_answer_are_not_guessed_between(desk, domain) -> None:
    events, texts = run_action(ValidateTrackOrderForm(), make_tracker(
        slots={"requested_slot": "order_id"}, candidates={"order_id": ["900001", "900002"]},
        active_loop="track_order_form"), domain)
    assert slot_events(events)["order_id"] is None and "just one order number" in texts[0]


def test_a_number_in_the_new_address_never_replaces_the_order(desk, domain) -> None:
    """A postcode or house number the NLU tags as an order id, mid-form, leaves the order as it was."""
    meta = {"customer_token": token_for(BOB)}
    for stray in ("1", "12345", ["1", "4"]):
        address = "1 Rue des Acacias, 12345 Lyon, France"  # order 900006 goes to France
        events, texts = run_action(ValidateChangeAddressForm(), make_tracker(
            slots={"order_id": "900006", "requested_slot": "new_address"},
            candidates={"order_id": stray, "new_address": address}, metadata=meta,
            active_loop="change_address_form"), domain)
        slots = slot_events(events)
        assert slots["order_id"] == "900006" and slots["new_address"] == address, stray
        assert slots["requested_slot"] == "confirmation" and texts == []


def test_junk_in_the_message_starting_a_flow_keeps_the_order_or_asks(desk, domain) -> None:
    meta = {"customer_token": token_for(BOB)}
    events, texts = run_action(ValidateChangeAddressForm(), make_tracker(
        slots={"order_id": "900006"}, candidates={"order_id": "1"}, metadata=meta,
        active_loop="change_address_form"), domain)
    assert slot_events(events)["order_id"] == "900006" and texts == []  # a valid order is never replaced
    events, texts = run_action(ValidateChangeAddressForm(), make_tracker(
        candidates={"order_id": "1"}, metadata=meta, active_loop="change_address_form"), domain)
    assert slot_events(events)["order_id"] is None and texts == []  # the form just asks for the order


def test_forged_or_foreign_token_is_ignored(desk, domain) -> None:
    forged = {"customer_token": token_for(ALICE)[:-3] + "abc"}
    events, _ = run_action(ValidateTrackOrderForm(), make_tracker(
        candidates={"order_id": "900001"}, metadata=forged, active_loop="track_order_form"), domain)
    assert "requested_slot" not in slot_events(events) and "customer_id" not in slot_events(events)


def test_verified_customer_cannot_reach_someone_elses_order(desk, domain) -> None:
    events, texts = run_action(ValidateCancelOrderForm(), make_tracker(
        candidates={"order_id": "900006"}, metadata={"customer_token": token_for(ALICE)},
        active_loop="cancel_order_form"), domain)
    assert slot_events(events)["order_id"] is None and "couldn't find an order 900006" in texts[0]


def test_cancel_processing_order_after_yes(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateCancelOrderForm(), make_tracker(
        candidates={"order_id": "900001"}, metadata=meta, active_loop="cancel_order_form"), domain)
    assert slot_events(events)["requested_slot"] == "confirmation"
    _, texts = run_action(ActionAskConfirmation(), make_tracker(
        slots={"order_id": "900001"}, metadata=meta, active_loop="cancel_order_form"), domain)
    assert "cancel order 900001" in texts[0]

    _, texts = run_action(ActionCancelOrder(), make_tracker(
        slots={"order_id": "900001", "confirmation": False}, metadata=meta), domain)
    assert "stays as it is" in texts[0] and desk.order(ALICE, "900001").status == "processing"

    events, texts = run_action(ActionCancelOrder(), make_tracker(
        slots={"order_id": "900001", "confirmation": True}, metadata=meta), domain)
    assert "is cancelled" in texts[0] and desk.order(ALICE, "900001").status == "cancelled"
    assert slot_events(events)["confirmation"] is None


def test_cancel_shipped_order_is_refused_and_changes_nothing(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateCancelOrderForm(), make_tracker(
        candidates={"order_id": "900002"}, metadata=meta, active_loop="cancel_order_form"), domain)
    slots = slot_events(events)
    assert "already shipped" in slots["order_blocker"] and slots["requested_slot"] is None
    _, texts = run_action(ActionCancelOrder(), make_tracker(
        slots={"order_id": "900002", "order_blocker": slots["order_blocker"]}, metadata=meta), domain)
    assert "already shipped" in texts[0] and desk.order(ALICE, "900002").status == "shipped"


def test_change_address_flow(desk, domain) -> None:
    meta = {"customer_token": token_for(BOB)}
    events, texts = run_action(ValidateChangeAddressForm(), make_tracker(
        slots={"order_id": "900006"}, candidates={"new_address": "nowhere"}, metadata=meta,
        active_loop="change_address_form"), domain)
    assert slot_events(events)["new_address"] is None and "full address" in texts[0]
    address = "12 Rue de la Paix, 75002 Paris, France"
    events, _ = run_action(ValidateChangeAddressForm(), make_tracker(
        slots={"order_id": "900006"}, candidates={"new_address": address}, metadata=meta,
        active_loop="change_address_form"), domain)
    assert slot_events(events)["requested_slot"] == "confirmation"
    _, texts = run_action(ActionChangeAddress(), make_tracker(
        slots={"order_id": "900006", "new_address": address, "confirmation": True}, metadata=meta), domain)
    assert desk.order(BOB, "900006").shipping_address == address and address in texts[0]


def test_return_flow_and_refund_tracking(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateReturnForm(), make_tracker(
        candidates={"order_id": "900003"}, metadata=meta, active_loop="return_form"), domain)
    assert slot_events(events)["requested_slot"] == "return_reason"
    _, texts = run_action(ActionOpenReturn(), make_tracker(
        slots={"order_id": "900003", "return_reason": "arrived damaged", "confirmation": True}, metadata=meta), domain)
    assert "return for order 900003 is open" in texts[0]
    _, texts = run_action(ActionTrackRefund(), make_tracker(metadata=meta), domain)
    assert "900003" in texts[0] and "pending" in texts[0]


def test_return_refused_outside_window(desk, domain) -> None:
    events, _ = run_action(ValidateReturnForm(), make_tracker(
        candidates={"order_id": "900004"}, metadata={"customer_token": token_for(BOB)}, active_loop="return_form"),
        domain)
    assert "outside our return window" in slot_events(events)["order_blocker"]


def test_invoice_by_invoice_number(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateInvoiceForm(), make_tracker(
        candidates={"order_id": "INV-900003"}, metadata=meta, active_loop="invoice_form"), domain)
    assert slot_events(events)["order_id"] == "900003"
    events, _ = run_action(ValidateInvoiceForm(), make_tracker(
        candidates={"order_id": ["INV-900003", "1"]}, metadata=meta, active_loop="invoice_form"), domain)
    assert slot_events(events)["order_id"] == "900003"
    _, texts = run_action(ActionGetInvoice(), make_tracker(slots={"order_id": "900003"}, metadata=meta), domain)
    assert "INV-900003" in texts[0]


def test_list_orders_needs_identity_and_shows_only_own_orders(desk, domain) -> None:
    events, _ = run_action(ValidateListOrdersForm(), make_tracker(active_loop="list_orders_form"), domain)
    assert "requested_slot" not in slot_events(events)  # the form goes on to ask for order id and email
    meta = {"customer_token": token_for(BOB)}
    events, _ = run_action(ValidateListOrdersForm(), make_tracker(metadata=meta, active_loop="list_orders_form"),
                           domain)
    assert slot_events(events)["requested_slot"] is None
    _, texts = run_action(ActionListOrders(), make_tracker(metadata=meta), domain)
    assert "900006" in texts[0] and "900001" not in texts[0]


def test_flow_action_without_identity_does_nothing(desk, domain) -> None:
    _, texts = run_action(ActionCancelOrder(), make_tracker(slots={"order_id": "900001", "confirmation": True}),
                          domain)
    assert "haven't done anything" in texts[0] and desk.order(ALICE, "900001").status == "processing"


def test_invalid_input_explanations(domain) -> None:
    tracker = make_tracker(intent="invalid_input")
    tracker.latest_message["input_problem"] = "language"
    _, texts = run_action(ActionExplainInvalidInput(), tracker, domain)
    assert "English" in texts[0]


def test_slot_before_latest_message_and_client_address() -> None:
    from rasa_sdk import Tracker

    from actions.order_forms import client_of, slot_before_latest_message

    tracker = make_tracker(slots={"order_id": "900001"}, candidates={"order_id": "1"},
                           metadata={"shopdesk_client": " 203.0.113.4 "})
    assert slot_before_latest_message(tracker, "order_id") == "900001" and client_of(tracker) == "203.0.113.4"
    assert client_of(make_tracker(metadata={"shopdesk_client": ["not", "a", "string"]})) is None
    new_session = Tracker("s", {}, {}, [{"event": "slot", "name": "order_id", "value": "900001"},
                                        {"event": "session_started"}, {"event": "user", "text": "hi"}],
                          False, None, {}, "action_listen")
    assert slot_before_latest_message(new_session, "order_id") is None
