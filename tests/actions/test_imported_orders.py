"""A shop's own orders, imported from its Shopify export, through the real order actions: the customer proves
who they are with the imported email, and the answers carry the shop's tracking numbers and currencies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.order_forms import ValidateTrackOrderForm
from actions.orders import ActionCancelOrder, ActionListOrders, ActionTrackOrder
from store.importers.cli import main as import_main
from tests.actions.conftest import make_tracker, run_action, served_store, slot_events, token_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "imports"
JANE = "jane.whitaker@example.co.uk"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A store holding only what the Shopify import brought in (no demo seed)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert import_main(["shopify", "--products", str(FIXTURES / "shopify_products.csv"),
                        "--orders", str(FIXTURES / "shopify_orders.csv"), "--skip-bad-rows",
                        "--database-url", url]) == 0
    yield from served_store(url, monkeypatch)


def customer_id(desk, number: str, email: str) -> int:
    found = desk.verify_owner("conv-setup", number, email)
    assert found is not None
    return found


def test_imported_email_and_order_number_prove_identity(desk, domain) -> None:
    tracker = make_tracker(slots={"order_id": "1001", "requested_slot": "email"}, text=JANE.upper(),
                           intent="inform", active_loop="track_order_form")
    events, _ = run_action(ValidateTrackOrderForm(), tracker, domain)
    slots = slot_events(events)
    assert slots["customer_id"] == str(customer_id(desk, "1001", JANE)) and slots["requested_slot"] is None


def test_tracking_an_imported_order_gives_the_shops_carrier_and_tracking_number(desk, domain) -> None:
    meta = {"customer_token": token_for(customer_id(desk, "#1001", JANE))}
    _, texts = run_action(ActionTrackOrder(), make_tracker(slots={"order_id": "1001"}, metadata=meta), domain)
    assert "Royal Mail (tracking number RM123456785GB)" in texts[0] and "dispatched Tue 4 Nov 2025" in texts[0]
    assert "£53.00" in texts[0] and "Expected delivery" not in texts[0]  # the export gives no date: none invented


def test_listing_shows_the_customers_imported_orders_in_their_currency(desk, domain) -> None:
    luis = customer_id(desk, "1002", "luis.fernandez@example.es")
    _, texts = run_action(ActionListOrders(), make_tracker(metadata={"customer_token": token_for(luis)}), domain)
    assert "**1002**" in texts[0] and "€36.00" in texts[0] and "1001" not in texts[0]
    jane = customer_id(desk, "1001", JANE)
    _, texts = run_action(ActionListOrders(), make_tracker(metadata={"customer_token": token_for(jane)}), domain)
    assert "**1001**" in texts[0] and "**1004**" in texts[0] and "cancelled" in texts[0]


def test_an_imported_unshipped_order_can_be_cancelled_with_a_refund_in_its_currency(desk, domain) -> None:
    luis = customer_id(desk, "1002", "luis.fernandez@example.es")
    meta = {"customer_token": token_for(luis)}
    _, texts = run_action(ActionCancelOrder(), make_tracker(slots={"order_id": "1002", "confirmation": True},
                                                            metadata=meta), domain)
    assert "€36.00" in " ".join(texts)
    assert desk.order(luis, "1002").status == "cancelled"


def test_a_four_digit_shopify_number_is_taken_when_the_form_asks_for_it(desk, domain) -> None:
    tracker = make_tracker(slots={"requested_slot": "order_id"}, text="1001", intent="inform",
                           active_loop="track_order_form")
    events, _ = run_action(ValidateTrackOrderForm(), tracker, domain)
    assert slot_events(events)["order_id"] == "1001"
