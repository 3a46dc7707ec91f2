"""The real action server with SHOPDESK_ORDER_BACKEND=http, against the reference order API, as Rasa calls it.

Three real processes: the reference order API over the shop's seeded store, and the action server
(runtime.action_server, all of `actions`) whose own database holds no orders at all. A customer proves who
they are with an order number and email (asked of the API, throttled in ShopDesk), gets their order's
status, and once the API is gone hears that the order system can't be reached, not silence or a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from actions.formatting import order_tracking
from runtime.action_server import TOKEN_HEADER
from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import PROJECT_ROOT, action_server_command
from store.errors import UNREACHABLE
from store.service import OrderDesk
from store.tokens import issue_customer_token
from tests.conftest import copy_database
from tests.store_http.conftest import ALICE, API_TOKEN, BOB, base_url, reference_server

pytestmark = pytest.mark.slow

ACTION_TOKEN = "action-token-for-the-http-backend-tests"
SIGNING_KEY = "test-signing-key-0123456789abcdef"


@pytest.fixture(scope="module")
def api_server(shop_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessGroup]:
    """This module's own reference API (the last test stops it)."""
    group = ProcessGroup([reference_server(shop_url, tmp_path_factory.mktemp("api-logs"))])
    group.start()
    yield group
    group.stop()


@pytest.fixture(scope="module")
def action_server(api_server: ProcessGroup, migrated_template: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    own = tmp_path_factory.mktemp("shopdesk-db")
    port = free_port()
    env = {"SHOPDESK_DATABASE_URL": copy_database(migrated_template, own),  # ShopDesk's own: no orders in it
           "SHOPDESK_ORDER_BACKEND": "http", "SHOPDESK_ORDER_API_URL": base_url(api_server.servers[0]),
           "SHOPDESK_ORDER_API_TOKEN": API_TOKEN, "SHOPDESK_ORDER_API_TIMEOUT_S": "3",
           "SHOPDESK_ACTION_TOKEN": ACTION_TOKEN, "SHOPDESK_SIGNING_KEY": SIGNING_KEY,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SANIC_HOST": "127.0.0.1"}
    server = ServerProcess(name="action server", command=action_server_command(port),
                           health_url=f"http://127.0.0.1:{port}/health", env=env, cwd=PROJECT_ROOT,
                           log_path=tmp_path_factory.mktemp("actions-logs") / "actions.log")
    with ProcessGroup([server], supervise=False):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def call(url: str, domain: dict[str, Any], action: str, sender: str, text: str, intent: str,
         slots: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.98}, "entities": [],
               "metadata": metadata or {}, "intent_ranking": []}
    tracker = {"sender_id": sender, "slots": slots or {}, "latest_message": message, "paused": False,
               "events": [{"event": "action", "name": "action_listen"},
                          {"event": "user", "text": text, "parse_data": message, "metadata": metadata or {}}],
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    reply = requests.post(f"{url}/webhook", headers={TOKEN_HEADER: ACTION_TOKEN}, timeout=60, json={
        "next_action": action, "sender_id": sender, "tracker": tracker, "domain": domain, "version": "3.6.21"})
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(reply: dict[str, Any]) -> list[str]:
    return [m.get("text") or "" for m in reply["responses"]]


def test_a_signed_in_customer_gets_their_order_status_from_the_shops_api(
        action_server: str, domain: dict[str, Any], shop_desk: OrderDesk) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    token = issue_customer_token(ALICE, sender, SIGNING_KEY)
    reply = call(action_server, domain, "action_track_order", sender, "where is order 900002?", "track_order",
                 slots={"order_id": "900002"}, metadata={"customer_token": token})
    (text,) = texts(reply)
    expected = shop_desk.order(ALICE, "900002")  # what the shop's store holds, read directly
    assert text == order_tracking(expected, shop_desk.now())
    assert text.startswith("Order **900002**")


def test_order_number_and_email_prove_who_it_is_through_the_api(
        action_server: str, domain: dict[str, Any], shop_desk: OrderDesk) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    email = shop_desk.customer(BOB).email
    reply = call(action_server, domain, "action_order_context", sender, f"my email is {email}, order 900004",
                 "inform")
    assert texts(reply)[0].startswith(f"Thanks, I've found order 900004 ({shop_desk.order(BOB, '900004').status})")
    slots = {e["name"]: e["value"] for e in reply["events"] if e.get("event") == "slot"}
    assert slots["customer_id"] == str(BOB) and slots["order_id"] == "900004"
    wrong = call(action_server, domain, "action_order_context", f"web-{uuid.uuid4().hex[:8]}",
                 "my email is someone@example.com, order 900004", "inform")
    assert texts(wrong)[0].startswith("I couldn't find an order with that number and email")
    # someone else's order, with the slot an attacker would forge: refused like an unknown one
    other = call(action_server, domain, "action_track_order", sender, "where is 900001", "track_order",
                 slots={"order_id": "900001", "customer_id": str(BOB)})
    assert texts(other)[0] == "I couldn't find an order 900001 on your account."


def test_a_confirmed_cancellation_is_made_by_the_shops_api(action_server: str, domain: dict[str, Any],
                                                           shop_desk: OrderDesk) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    token = issue_customer_token(ALICE, sender, SIGNING_KEY)
    reply = call(action_server, domain, "action_cancel_order", sender, "yes", "affirm",
                 slots={"order_id": "900001", "confirmation": True}, metadata={"customer_token": token})
    assert texts(reply)[0].startswith("Done: order 900001 is cancelled. A full refund of")
    assert shop_desk.order(ALICE, "900001").status == "cancelled"  # in the shop's store, not ShopDesk's
    again = call(action_server, domain, "action_cancel_order", sender, "yes", "affirm",
                 slots={"order_id": "900001", "confirmation": True}, metadata={"customer_token": token})
    assert texts(again)[0] == "Order 900001 is already cancelled."
    assert len(shop_desk.refunds(ALICE, "900001")) == 1


def test_with_the_api_down_the_customer_is_told_so(action_server: str, api_server: ProcessGroup,
                                                   domain: dict[str, Any]) -> None:
    assert requests.get(f"{action_server}/ready", timeout=30).status_code == 200
    api_server.stop()
    sender = f"web-{uuid.uuid4().hex[:8]}"
    token = issue_customer_token(ALICE, sender, SIGNING_KEY)
    reply = call(action_server, domain, "action_track_order", sender, "where is order 900002?", "track_order",
                 slots={"order_id": "900002"}, metadata={"customer_token": token})
    (message,) = reply["responses"]
    assert message["text"] == UNREACHABLE
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
    listed = call(action_server, domain, "action_list_orders", sender, "my orders", "list_orders",
                  metadata={"customer_token": token})
    assert texts(listed) == [UNREACHABLE]
    ready = requests.get(f"{action_server}/ready", timeout=30)
    assert ready.status_code == 503 and "order API" in ready.json()["store_database"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"SHOPDESK_ORDER_BACKEND": "http"}, "SHOPDESK_ORDER_BACKEND=http needs SHOPDESK_ORDER_API_URL and "
                                         "SHOPDESK_ORDER_API_TOKEN"),
    ({"SHOPDESK_ORDER_BACKEND": "csv"}, "SHOPDESK_ORDER_BACKEND must be 'sql' or 'http', not 'csv'"),
])
def test_a_misconfigured_backend_stops_the_action_server(settings: dict[str, str], message: str) -> None:
    import subprocess

    finished = subprocess.run(action_server_command(free_port()), cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=120, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
                                                "SHOPDESK_ACTION_TOKEN": ACTION_TOKEN, **settings})
    assert finished.returncode == 2 and "Traceback" not in finished.stderr
    assert f"action server: {message}" in finished.stderr


def test_the_sql_backend_still_serves_by_default(migrated_template: Path,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()
    env = {"SHOPDESK_DATABASE_URL": copy_database(migrated_template, tmp_path_factory.mktemp("sql-default")),
           "SHOPDESK_ACTION_TOKEN": ACTION_TOKEN, "SHOPDESK_SIGNING_KEY": SIGNING_KEY, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "SHOPDESK_ORDER_BACKEND": ""}
    server = ServerProcess(name="action server", command=action_server_command(port),
                           health_url=f"http://127.0.0.1:{port}/health", env=env, cwd=PROJECT_ROOT,
                           log_path=tmp_path_factory.mktemp("sql-logs") / "actions.log")
    with ProcessGroup([server], supervise=False):
        ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["store_database"] == "ok"
