"""The conversation suite: its YAML files (cheap, no servers), its fixtures (a seeded store) and the CI subset of
conversations (`ci: true`) end to end against the real Rasa + action server + store (tests/conftest.py
`shop_stack`). The whole suite runs in bench/conversation_benchmark.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from store.db import make_engine
from store.service import OrderDesk
from tests.conversations.fixtures import STATES, FixtureSpec, create_fixture
from tests.conversations.runner import (
    CATEGORIES,
    FAILURE,
    PARTIAL,
    SUCCESS,
    Conversation,
    check_database,
    check_reply,
    fill,
    load_conversations,
    run_conversation,
    snapshot,
    used_placeholders,
)
from tests.conversations.runner import Turn as SuiteTurn

ALL = load_conversations()
CI = [c for c in ALL if c.ci]


def test_suite_has_every_category_and_enough_conversations() -> None:
    counts = Counter(c.category for c in ALL)
    assert len(ALL) >= 250
    assert set(counts) == set(CATEGORIES), set(counts) ^ set(CATEGORIES)
    assert min(counts.values()) >= 10, counts


def test_ci_subset_spans_every_category() -> None:
    assert 25 <= len(CI) <= 40
    assert {c.category for c in CI} == set(CATEGORIES)


def test_every_placeholder_is_defined_by_its_fixture() -> None:
    """The loader refuses undefined placeholders; an empty value (no tracking number yet) checks nothing."""
    for conversation in ALL:
        values = {name: "x" for name in used_placeholders(conversation)}
        for turn in conversation.turns:
            assert "{" not in fill(turn.user, values).replace('{"', ""), (conversation.id, turn.user)


def test_fill_leaves_json_payloads_alone() -> None:
    assert fill('/inform{"order_id":"{order}"}', {"order": "700001"}) == '/inform{"order_id":"700001"}'
    assert fill("{unknown} {email}", {"email": "a@b.co"}) == "{unknown} a@b.co"


def test_reply_checks() -> None:
    values = {"order": "700001", "others_order": "700002", "others_email": "x@example.org", "others_name": "Al Bo"}
    turn = SuiteTurn(user="where is {order}", any=("on its way", "in transit"), all=("{order}",), none=("late",))
    assert check_reply(turn, "Order 700001 is on its way.", values, "where is 700001") == []
    assert check_reply(turn, "", values, "") == ["empty reply"]
    failures = check_reply(turn, "Sorry, I didn't quite understand that. Order 700002, late", values, "")
    assert len(failures) == 5  # fallback, any, all, none, the other customer's order
    assert check_reply(SuiteTurn(user="x"), "I couldn't find an order 700002", values, "where is 700002") == []
    leak = check_reply(SuiteTurn(user="x"), "Hi Al Bo", values, "")
    assert leak == ["other customer's others_name 'Al Bo' in the reply"]


@pytest.mark.slow
def test_fixtures_put_orders_in_the_states_they_name(demo_store_url: str) -> None:
    """What each state means to the order desk: the rules the conversations' expectations rely on."""
    fixture = create_fixture(demo_store_url, FixtureSpec(orders=STATES), "states-check")
    engine = make_engine(demo_store_url)
    desk = OrderDesk(sessionmaker(engine))
    number = dict(zip(STATES, fixture.numbers, strict=True))
    view = {state: desk.order(fixture.customer_id, n) for state, n in number.items()}
    assert {s: v.status for s, v in view.items()} == {
        "processing": "processing", "processing_stale": "processing", "shipped": "shipped", "late": "shipped",
        "delivered": "delivered", "delivered_old": "delivered", "return_requested": "delivered",
        "return_open_refund_processing": "delivered", "refund_completed": "returned", "cancelled": "cancelled"}
    now = datetime.now()
    assert view["late"].shipment.estimated_delivery < now - timedelta(days=2)
    assert view["late"].shipment.delivered_at is None
    assert view["shipped"].shipment.estimated_delivery > now
    assert now - view["processing_stale"].placed_at > timedelta(days=3)
    assert fixture.values["tracking3"] and fixture.values["tracking4"] and not fixture.values["tracking"]
    assert desk.return_blocker(fixture.customer_id, number["delivered"]) is None
    assert "30 days" in desk.return_blocker(fixture.customer_id, number["delivered_old"])
    assert desk.cancellation_blocker(fixture.customer_id, number["processing"]) is None
    refunds = {r.order_number: r.status for r in desk.refunds(fixture.customer_id)}
    assert refunds[number["return_open_refund_processing"]] == "processing"
    assert refunds[number["refund_completed"]] == "completed"
    assert fixture.values["invoice"] == f"INV-{fixture.values['order']}"
    other = create_fixture(demo_store_url, FixtureSpec(orders=("processing",)), "states-check-2")
    assert other.values["order"] not in {*fixture.numbers, fixture.values["others_order"]}
    assert other.values["email"] != fixture.values["email"]
    engine.dispose()


@pytest.mark.slow
def test_database_checks_see_changes(demo_store_url: str) -> None:
    fixture = create_fixture(demo_store_url, FixtureSpec(orders=("processing",)), "db-check")
    watched = [*fixture.numbers, fixture.values["others_order"]]
    before = snapshot(demo_store_url, watched)
    engine = make_engine(demo_store_url)
    OrderDesk(sessionmaker(engine)).cancel_order(fixture.customer_id, fixture.values["order"])
    engine.dispose()
    after = snapshot(demo_store_url, watched)
    assert check_database({"order_status": {"order": "cancelled"}}, fixture, before, after, []) == []
    failures = check_database({"no_changes": True, "handoff": True}, fixture, before, after, [])
    assert len(failures) == 2


@pytest.mark.slow
@pytest.mark.parametrize("conversation", CI, ids=[c.id for c in CI])
def test_ci_conversation(shop_stack, conversation: Conversation) -> None:
    result = run_conversation(shop_stack, conversation)
    assert result.grade in (SUCCESS, PARTIAL, FAILURE)
    assert result.grade == SUCCESS, "\n".join([*result.reasons, result.transcript_text()])
