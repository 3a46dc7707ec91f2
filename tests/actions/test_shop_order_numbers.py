"""A shop's own order numbers, through the real action server: a Shopify shop's "#1001" and another shop's
"S-5001", written anywhere in a message the NLU did not tag, are tracked and cancelled like the demo's.

Each shop is a real action server process reading its own shop.yml (`order_numbers`) through
SHOPDESK_SHOP_PROFILE, on a store filled by the real importer from the shop's export (tests/fixtures/imports).
Rasa's calls are posted to /webhook as Rasa makes them, with no entities: the text is all there is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from runtime.action_server import TOKEN_HEADER
from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import OFFLINE_ENV, PROJECT_ROOT, action_server_command
from shop_profile import PROFILE_ENV
from store.importers.cli import main as import_main
from store.models import Order
from tests.shop_profile.support import write_profile

TOKEN = "order-numbers-test-action-token-0123"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "imports"
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
SLOTS = ("order_id", "email", "customer_id", "confirmation", "order_blocker", "new_address", "return_reason",
         "requested_slot")


def numbers(section: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.update(order_numbers=section)


def served(directory: Path, profile: Path, import_args: list[str]) -> Iterator[tuple[str, str]]:
    """A real action server on a store holding only the shop's imported export; (its URL, the store URL)."""
    url = f"sqlite:///{directory / 'shop.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PROFILE_ENV, str(profile))  # the importer reads the shop's numbers too
        assert import_main([*import_args, "--database-url", url]) == 0
    port = free_port()
    server = ServerProcess(
        name="action server", command=action_server_command(port), health_url=f"http://127.0.0.1:{port}/health",
        env={**OFFLINE_ENV, PROFILE_ENV: str(profile), "SHOPDESK_DATABASE_URL": url, "SHOPDESK_ORDER_BACKEND": "sql",
             "SHOPDESK_ACTION_TOKEN": TOKEN, "SHOPDESK_SIGNING_KEY": "k" * 32},
        cwd=PROJECT_ROOT, log_path=directory / "actions.log")
    with ProcessGroup([server]):
        yield f"http://127.0.0.1:{port}", url


@pytest.fixture(scope="module")
def shopify(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("shopify")
    profile = write_profile(directory, numbers({"pattern": r"\d{4,6}", "prefixes": ["#"], "examples": ["#1001"]}))
    yield from served(directory, profile, ["shopify", "--products", str(FIXTURES / "shopify_products.csv"),
                                           "--orders", str(FIXTURES / "shopify_orders.csv"), "--skip-bad-rows"])


@pytest.fixture(scope="module")
def s_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("s-shop")
    profile = write_profile(directory, numbers({"pattern": r"S-\d{4,6}", "examples": ["S-5001"]}))
    yield from served(directory, profile, ["generic", "--mapping", str(FIXTURES / "generic_mapping.toml"),
                                           "--orders", str(FIXTURES / "generic_simple.csv")])


class Conversation:
    """One conversation with the action server: the slots it has set so far, sent back with every call."""

    def __init__(self, base: str, form: str) -> None:
        self.base, self.form, self.sender = base, form, f"numbers-{uuid.uuid4().hex[:8]}"
        self.slots: dict[str, Any] = {}

    def call(self, action: str, text: str = "", intent: str = "inform", **slots: Any) -> tuple[dict[str, Any], str]:
        """The slots `action` set and the text it sent, for the customer's message `text`."""
        self.slots.update(slots)
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "metadata": {}}
        events = [{"event": "slot", "name": k, "value": v} for k, v in self.slots.items() if v is not None] + [
            {"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": latest}]
        tracker = {"sender_id": self.sender, "slots": {name: self.slots.get(name) for name in SLOTS},
                   "events": events, "paused": False, "followup_action": None,
                   "active_loop": {"name": self.form} if action.startswith("validate_") else {},
                   "latest_action_name": "action_listen", "latest_input_channel": "rest", "latest_message": latest}
        reply = requests.post(f"{self.base}/webhook", headers={TOKEN_HEADER: TOKEN}, timeout=60, json={
            "next_action": action, "sender_id": self.sender, "version": "3.6.21", "domain": DOMAIN,
            "tracker": tracker})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        set_now = {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}
        self.slots.update(set_now)
        return set_now, " ".join(r.get("text") or "" for r in body["responses"])


def status(store_url: str, number: str) -> str:
    engine = create_engine(store_url)
    try:
        with Session(engine) as s:
            return str(s.scalar(select(Order.status).where(Order.number == number)))
    finally:
        engine.dispose()


def cancelled(chat: Conversation, store_url: str, number: str) -> str:
    """Confirm the cancellation the form collected; what the customer is told, once the store says cancelled."""
    _, text = chat.call("action_cancel_order", confirmation=True)
    assert number in text and status(store_url, number) == "cancelled", text
    return text


def refused(base: str, answer: str) -> str:
    """The reply to `answer` given for "what's the order number?", which must not be taken as one."""
    slots, text = Conversation(base, "track_order_form").call("validate_track_order_form", answer,
                                                              requested_slot="order_id")
    assert slots["order_id"] is None, slots
    return text


def tracked(base: str, message: str, number: str) -> str:
    """Track the order `message` names with its email (nothing tagged): the answer, once it is `number`'s."""
    chat = Conversation(base, "track_order_form")
    slots, _ = chat.call("validate_track_order_form", message, "track_order")
    assert slots["order_id"] == number and slots["customer_id"], slots
    return chat.call("action_track_order")[1]


def test_a_shopify_number_written_in_a_message_is_tracked(shopify: tuple[str, str]) -> None:
    text = tracked(shopify[0], "hi, where's my order #1001? it's jane.whitaker@example.co.uk", "1001")
    assert "Royal Mail (tracking number RM123456785GB)" in text


def test_a_shopify_number_is_cancelled_from_a_sentence(shopify: tuple[str, str]) -> None:
    chat = Conversation(shopify[0], "cancel_order_form")
    slots, _ = chat.call("validate_cancel_order_form", "please cancel order 1002, email luis.fernandez@example.es",
                         "cancel_order")
    assert slots["order_id"] == "1002" and slots["customer_id"]
    assert "€36.00" in cancelled(chat, shopify[1], "1002")


def test_an_answer_that_is_not_the_shops_number_quotes_its_example(shopify: tuple[str, str]) -> None:
    assert "Order numbers look like #1001." in refused(shopify[0], "no idea sorry")


def test_an_s_number_is_tracked_and_cancelled(s_shop: tuple[str, str]) -> None:
    text = tracked(s_shop[0], "Where is S-5001? My email is kate.lim@example.sg", "S-5001")
    assert "S-5001" in text and "delivered" in text

    chat = Conversation(s_shop[0], "cancel_order_form")
    chat.call("validate_cancel_order_form", "I'd like to cancel", "cancel_order")
    slots, _ = chat.call("validate_cancel_order_form", "it's s-5002", requested_slot="order_id")
    assert slots["order_id"] == "S-5002"
    slots, _ = chat.call("validate_cancel_order_form", "kate.lim@example.sg", requested_slot="email")
    assert slots["customer_id"]
    cancelled(chat, s_shop[1], "S-5002")


def test_an_other_shops_number_is_not_taken_for_this_shops(s_shop: tuple[str, str]) -> None:
    assert "Order numbers look like S-5001." in refused(s_shop[0], "#1001")
