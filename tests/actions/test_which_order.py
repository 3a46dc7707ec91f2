"""Which order: signed-in customers pick from their own orders; details given outside a flow are checked and
remembered; a message's other requests are kept and handled after the first."""

from __future__ import annotations

from actions.order_forms import NO_MATCH, ValidateCancelOrderForm
from actions.other_requests import PENDING_SLOT, follow_up
from actions.which_order import ActionAskOrderId, ActionOrderContext
from tests.actions.conftest import make_tracker, run_action, slot_events, token_for

ALICE, BOB = 10001, 10002


def buttons_of(action, tracker, domain) -> list[dict]:
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, domain)
    return [b for m in dispatcher.messages for b in m.get("buttons") or []]


def test_a_signed_in_customer_picks_from_their_own_orders_the_flow_can_act_on_first(desk, domain) -> None:
    tracker = make_tracker(metadata={"customer_token": token_for(ALICE)}, active_loop="cancel_order_form")
    buttons = buttons_of(ActionAskOrderId(), tracker, domain)
    payloads = [b["payload"] for b in buttons]
    assert payloads[0] == '/inform{"order_id":"900001"}'  # the processing one, the only one it can cancel
    assert {p[-8:-2] for p in payloads} == {"900001", "900002", "900003"}  # only Alice's own orders


def test_an_anonymous_customer_is_asked_for_the_number_worded_for_the_flow(desk, domain) -> None:
    _, texts = run_action(ActionAskOrderId(), make_tracker(active_loop="invoice_form"), domain)
    assert "INV-536365" in texts[0]
    _, texts = run_action(ActionAskOrderId(), make_tracker(active_loop="track_order_form"), domain)
    assert "order number" in texts[0]


def test_order_details_outside_a_flow_are_checked_and_remembered(desk, domain) -> None:
    email = desk.customer(ALICE).email
    events, texts = run_action(ActionOrderContext(), make_tracker(
        text=f"my email is {email} and the order is #900002", intent="inform"), domain)
    slots = slot_events(events)
    assert slots["order_id"] == "900002" and slots["customer_id"] == str(ALICE) and "900002" in texts[0]
    events, texts = run_action(ActionOrderContext(), make_tracker(
        text="order 900002, email nobody@example.com", intent="inform", sender="conv-2"), domain)
    assert texts == [NO_MATCH] and slot_events(events)["order_id"] is None
    events, texts = run_action(ActionOrderContext(), make_tracker(text="it's 900002", intent="inform",
                                                                  sender="conv-3"), domain)
    assert slot_events(events) == {"order_id": "900002"} and "shipped" not in texts[0]  # nothing shown unproven


def test_other_requests_are_kept_when_a_flow_starts_and_offered_when_it_ends(desk, domain) -> None:
    meta = {"customer_token": token_for(ALICE)}
    tracker = make_tracker(text="cancel 900001 and track 900002", intent="cancel_order", metadata=meta)
    tracker.latest_message["shopdesk_requests"] = [{"intent": "track_order", "confidence": 0.9,
                                                    "text": "track 900002"}]
    events, texts = run_action(ValidateCancelOrderForm(), tracker, domain)
    assert slot_events(events)[PENDING_SLOT][0]["intent"] == "track_order" and "come back to" in texts[0]

    from rasa_sdk.executor import CollectingDispatcher

    later = make_tracker(slots={PENDING_SLOT: slot_events(events)[PENDING_SLOT]}, text="yes", intent="affirm")
    dispatcher = CollectingDispatcher()
    reset = follow_up(dispatcher, later)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == '/track_order{"order_id":"900002"}'
    assert reset[0]["name"] == PENDING_SLOT and reset[0]["value"] is None
