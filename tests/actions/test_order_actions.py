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


def start(text: str, slots: dict | None = None, meta: dict | None = None, entities: list | None = None,
          sender: str = "conv-test"):
    """The message that starts a flow, as the form's validation sees it on activation."""
    return make_tracker(slots=slots, text=text, intent="inform", metadata=meta, entities=entities, sender=sender)


def answer(form: str, requested: str, text: str, intent: str = "inform", slots: dict | None = None,
           meta: dict | None = None, entities: list | None = None, sender: str = "conv-test"):
    """A message sent while `form` waits for `requested`."""
    return make_tracker(slots={**(slots or {}), "requested_slot": requested}, text=text, intent=intent,
                        metadata=meta, entities=entities, active_loop=form, sender=sender)


def test_verified_customer_tracks_own_order_without_email(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, texts = run_action(ValidateTrackOrderForm(), start("where's my order #900002", meta=meta), domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900002" and slots["requested_slot"] is None and texts == []
    _, texts = run_action(ActionTrackOrder(), make_tracker(slots={"order_id": "900002"}, metadata=meta), domain)
    # placed 4 days before the newest order, due 3 days after it: the seeded parcel is late by now
    assert "is late, I'm sorry" in texts[0] and "Royal Mail" in texts[0]


def test_unverified_customer_is_asked_for_email_and_wrong_pair_reveals_nothing(desk, domain) -> None:
    events, _ = run_action(ValidateTrackOrderForm(), start("track order 900002"), domain)
    # The domain's slots: Rasa's form itself asks for the next one (the email).
    assert slot_events(events)["order_id"] == "900002" and "requested_slot" not in slot_events(events)

    bob_email = desk.customer(BOB).email
    events, texts = run_action(ValidateTrackOrderForm(), answer("track_order_form", "email", bob_email,
                                                                 slots={"order_id": "900002"}), domain)
    assert texts == [NO_MATCH]
    assert slot_events(events)["order_id"] is None and slot_events(events).get("customer_id") is None
    _, unknown_texts = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "email", bob_email, slots={"order_id": "999999"}, sender="conv-other"), domain)
    assert unknown_texts == texts  # unknown order and someone else's order read the same


def test_order_id_and_email_prove_identity(desk, domain) -> None:
    alice_email = desk.customer(ALICE).email
    events, _ = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "email", alice_email.upper(), slots={"order_id": "900001"}), domain)
    slots = slot_events(events)
    assert slots["customer_id"] == str(ALICE) and slots["requested_slot"] is None


def guess(domain, number: str, email: str, sender: str, client: str | None = None):
    """One order-number + email check as the form runs it (the email answers the email question)."""
    metadata = {"shopdesk_client": client} if client else {}
    events, texts = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "email", email, slots={"order_id": number}, sender=sender, meta=metadata), domain)
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
    events, texts = run_action(ValidateTrackOrderForm(), answer("track_order_form", "order_id", "my parcel"), domain)
    assert slot_events(events)["order_id"] is None and "doesn't look like an order number" in texts[0]


def test_two_order_numbers_in_one_answer_are_not_guessed_between(desk, domain) -> None:
    events, texts = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "order_id", "900001 or 900002"), domain)
    assert slot_events(events)["order_id"] is None and "just one order number" in texts[0]


def test_a_number_in_the_new_address_never_replaces_the_order(desk, domain) -> None:
    """A postcode or house number the NLU tags as an order id, mid-form, leaves the order as it was."""
    meta = {"customer_token": token_for(BOB)}
    for stray in ("1", "12345", "4"):
        address = "1 Rue des Acacias, 12345 Lyon, France"  # order 900006 goes to France
        events, texts = run_action(ValidateChangeAddressForm(), answer(
            "change_address_form", "new_address", address, slots={"order_id": "900006"}, meta=meta,
            entities=[{"entity": "order_id", "value": stray}]), domain)
        slots = slot_events(events)
        assert slots.get("order_id", "900006") == "900006" and slots["new_address"] == address, stray
        assert slots["requested_slot"] == "confirmation" and texts == []


def test_a_flow_started_without_a_number_continues_with_the_order_just_discussed(desk, domain) -> None:
    meta = {"customer_token": token_for(BOB)}
    events, texts = run_action(ValidateChangeAddressForm(), start(
        "can i change the address on it", slots={"order_id": "900006"}, meta=meta), domain)
    assert slot_events(events)["order_id"] == "900006" and texts == []
    assert slot_events(events)["requested_slot"] == "new_address"
    events, texts = run_action(ValidateChangeAddressForm(), start("change my address", meta=meta), domain)
    assert slot_events(events)["requested_slot"] == "order_id" and texts == []  # the form just asks


def test_early_and_combined_details_skip_the_questions(desk, domain) -> None:
    alice_email = desk.customer(ALICE).email
    events, texts = run_action(ValidateCancelOrderForm(), start(
        f"hi pls cancel #900001 my email is {alice_email} thx"), domain)
    slots = slot_events(events)
    assert slots["customer_id"] == str(ALICE) and slots["requested_slot"] == "confirmation" and texts == []
    events, _ = run_action(ValidateReturnForm(), start(
        "i want to return order 900003 because it's too small", meta={"customer_token": token_for(ALICE)}), domain)
    slots = slot_events(events)
    assert slots["return_reason"] == "it's too small" and slots["requested_slot"] == "confirmation"
    events, _ = run_action(ValidateChangeAddressForm(), start(
        "change the address on 900006 to 4 rue Victor Hugo, 69002 Lyon", meta={"customer_token": token_for(BOB)}),
        domain)
    assert slot_events(events)["order_id"] == "900006"  # 69002 is the postcode, not another order
    assert slot_events(events)["new_address"] == "4 rue Victor Hugo, 69002 Lyon, France"


def test_an_email_given_before_the_order_is_kept_for_it(desk, domain) -> None:
    alice_email = desk.customer(ALICE).email
    events, texts = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "order_id", f"my email is {alice_email}"), domain)
    assert slot_events(events)["email"] == alice_email and texts == []
    events, _ = run_action(ValidateTrackOrderForm(), answer(
        "track_order_form", "order_id", "it's 900001", slots={"email": alice_email}), domain)
    assert slot_events(events)["customer_id"] == str(ALICE)


def test_a_correction_moves_the_flow_and_forgets_the_pending_yes(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateCancelOrderForm(), answer(
        "cancel_order_form", "confirmation", "no sorry, I meant 900002", intent="deny",
        slots={"order_id": "900001"}, meta=meta), domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900002" and slots["confirmation"] is None
    assert "shipped" in slots["order_blocker"]  # the new order's own rules apply: it can't be cancelled now
    events, _ = run_action(ValidateCancelOrderForm(), answer(
        "cancel_order_form", "confirmation", "oops wrong one, 900001", intent="inform",
        slots={"order_id": "900002"}, meta=meta), domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900001" and slots["confirmation"] is None
    assert slots["requested_slot"] == "confirmation"  # asked again, about the new order


def test_yes_counts_only_as_the_answer_to_the_confirmation_just_asked(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateCancelOrderForm(), answer(
        "cancel_order_form", "confirmation", "yep go ahead", intent="affirm", slots={"order_id": "900001"},
        meta=meta), domain)
    assert slot_events(events)["confirmation"] is True
    events, texts = run_action(ValidateCancelOrderForm(), answer(
        "cancel_order_form", "confirmation", "hmm let me think", intent="inform", slots={"order_id": "900001"},
        meta=meta), domain)
    assert slot_events(events)["confirmation"] is None and "yes or no" in texts[0]
    # at activation a "yes" is not an answer to anything
    events, _ = run_action(ValidateCancelOrderForm(), start("yes cancel 900001", meta=meta), domain)
    assert slot_events(events).get("confirmation") is None


def test_a_new_request_inside_a_form_leaves_it_and_drops_what_it_collected(desk, domain) -> None:
    meta = {"customer_token": token_for(BOB)}
    events, texts = run_action(ValidateCancelOrderForm(), answer(
        "cancel_order_form", "confirmation", "actually can I change the address instead",
        intent="change_shipping_address", slots={"order_id": "900006", "confirmation": None}, meta=meta), domain)
    assert events[-1]["event"] == "action_execution_rejected" and texts == []
    events, _ = run_action(ValidateChangeAddressForm(), answer(
        "change_address_form", "new_address", "what's your returns policy?", intent="check_refund_policy",
        slots={"order_id": "900006", "return_reason": "old reason"}, meta=meta), domain)
    # a question is answered by the rules, then the form asks again: nothing collected is dropped
    assert [e["event"] for e in events] == ["action_execution_rejected"]
    events, _ = run_action(ValidateReturnForm(), answer(
        "return_form", "return_reason", "stop", intent="stop", slots={"order_id": "900003"}, meta=meta), domain)
    assert events[-1]["event"] == "action_execution_rejected"


def test_any_reasonable_return_reason_is_accepted(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    for reason, intent in (("changed my mind", "stop"), ("too small", "complaint"), ("meh didnt like it", "deny"),
                           ("it broke after 2 days", "cancel_order")):
        events, texts = run_action(ValidateReturnForm(), answer(
            "return_form", "return_reason", reason, intent=intent, slots={"order_id": "900003"}, meta=meta), domain)
        assert slot_events(events)["return_reason"] == reason and texts == [], reason


def test_forged_or_foreign_token_is_ignored(desk, domain) -> None:
    forged = {"customer_token": token_for(ALICE)[:-3] + "abc"}
    events, _ = run_action(ValidateTrackOrderForm(), start("track 900001", meta=forged), domain)
    assert "requested_slot" not in slot_events(events) and "customer_id" not in slot_events(events)


def test_verified_customer_cannot_reach_someone_elses_order(desk, domain) -> None:
    events, texts = run_action(ValidateCancelOrderForm(), start(
        "cancel 900006", meta={"customer_token": token_for(ALICE)}), domain)
    assert slot_events(events)["order_id"] is None and "couldn't find an order 900006" in texts[0]


def test_cancel_processing_order_after_yes(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateCancelOrderForm(), start("cancel 900001", meta=meta), domain)
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
    events, _ = run_action(ValidateCancelOrderForm(), start("cancel 900002", meta=meta), domain)
    slots = slot_events(events)
    assert "already shipped" in slots["order_blocker"] and slots["requested_slot"] is None
    _, texts = run_action(ActionCancelOrder(), make_tracker(
        slots={"order_id": "900002", "order_blocker": slots["order_blocker"]}, metadata=meta), domain)
    assert "already shipped" in texts[0] and desk.order(ALICE, "900002").status == "shipped"


def test_change_address_flow(desk, domain) -> None:
    meta = {"customer_token": token_for(BOB)}
    events, texts = run_action(ValidateChangeAddressForm(), answer(
        "change_address_form", "new_address", "12 nowhere", slots={"order_id": "900006"}, meta=meta), domain)
    assert slot_events(events)["new_address"] is None and "full address" in texts[0]
    address = "12 Rue de la Paix, 75002 Paris, France"
    events, _ = run_action(ValidateChangeAddressForm(), answer(
        "change_address_form", "new_address", address, slots={"order_id": "900006"}, meta=meta), domain)
    assert slot_events(events)["requested_slot"] == "confirmation"
    _, texts = run_action(ActionChangeAddress(), make_tracker(
        slots={"order_id": "900006", "new_address": address, "confirmation": True}, metadata=meta), domain)
    assert desk.order(BOB, "900006").shipping_address == address and address in texts[0]


def test_return_flow_and_refund_tracking(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateReturnForm(), start("return 900003", meta=meta), domain)
    assert slot_events(events)["requested_slot"] == "return_reason"
    _, texts = run_action(ActionOpenReturn(), make_tracker(
        slots={"order_id": "900003", "return_reason": "arrived damaged", "confirmation": True}, metadata=meta), domain)
    assert "return for order 900003 is open" in texts[0]
    _, texts = run_action(ActionTrackRefund(), make_tracker(metadata=meta), domain)
    assert "900003" in texts[0] and "pending" in texts[0]


def test_return_refused_outside_window(desk, domain) -> None:
    events, _ = run_action(ValidateReturnForm(), start("return 900004", meta={"customer_token": token_for(BOB)}),
                           domain)
    assert "outside our return window" in slot_events(events)["order_blocker"]


def test_invoice_by_invoice_number(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    events, _ = run_action(ValidateInvoiceForm(), start("invoice INV-900003 please", meta=meta), domain)
    assert slot_events(events)["order_id"] == "900003"
    events, _ = run_action(ValidateInvoiceForm(), start("send me inv900003 x1", meta=meta,
                                                        entities=[{"entity": "invoice_id", "value": "INV-900003"}]),
                           domain)
    assert slot_events(events)["order_id"] == "900003"
    _, texts = run_action(ActionGetInvoice(), make_tracker(slots={"order_id": "900003"}, metadata=meta), domain)
    assert "INV-900003" in texts[0]


def test_list_orders_needs_identity_and_shows_only_own_orders(desk, domain) -> None:
    events, _ = run_action(ValidateListOrdersForm(), start("show my orders"), domain)
    assert "requested_slot" not in slot_events(events)  # the form goes on to ask for order id and email
    meta = {"customer_token": token_for(BOB)}
    events, _ = run_action(ValidateListOrdersForm(), start("show my orders", meta=meta), domain)
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


def test_a_form_started_by_another_action_still_reads_the_message(desk, domain) -> None:
    """"invoice for 900003 - does it show the VAT?": the policy answer hands the message on to the flow."""
    tracker = start("invoice for 900003 - does it show the VAT?", meta={"customer_token": token_for(ALICE)})
    tracker.events.append({"event": "action", "name": "action_answer_policy_question"})
    events, _ = run_action(ValidateInvoiceForm(), tracker, domain)
    assert slot_events(events)["order_id"] == "900003"


def test_activation_is_recognised_on_the_tracker_rasa_sends(desk, domain) -> None:
    """Rasa validates an activation with the form already active and maybe another form's requested slot."""
    meta = {"customer_token": token_for(ALICE)}
    tracker = make_tracker(slots={"requested_slot": "confirmation"}, text="return 900003, it's too small",
                           intent="get_refund", metadata=meta, active_loop="return_form")
    tracker.events += [{"event": "active_loop", "name": "return_form"},
                       {"event": "action", "name": "return_form"}]
    events, _ = run_action(ValidateReturnForm(), tracker, domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900003" and slots["return_reason"] == "it's too small"
    assert slots.get("confirmation") is None and slots["requested_slot"] == "confirmation"


def test_a_signed_out_conversation_does_not_offer_the_order_it_remembered(desk, domain) -> None:
    """Whoever keeps a revoked conversation gets no order number back ("what's the email on order …?")."""
    from store.db import session_factory
    from store.security import revoke_conversation

    with session_factory()() as s, s.begin():
        revoke_conversation(s, "conv-revoked")
    events, texts = run_action(ValidateListOrdersForm(), start(
        "show me my recent orders", slots={"order_id": "900001"}, meta={"customer_token": token_for(ALICE)},
        sender="conv-revoked"), domain)
    assert slot_events(events)["order_id"] is None and not any("900001" in t for t in texts)
