"""Another shop's shop.yml changes what the real action server says, with no retraining and no code change.

A test profile (tests/shop_profile/support.py `other_shop`: a Berlin shop in euros, 14-day returns, its own
name, email, phone and hours) is handed to a real action server process through SHOPDESK_SHOP_PROFILE; Rasa's
calls are posted to its /webhook as Rasa makes them (the token from endpoints.yml included). The store is a
real seeded SQLite database.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from runtime.action_server import TOKEN_HEADER
from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import OFFLINE_ENV, PROJECT_ROOT, action_server_command
from shop_profile import PROFILE_ENV
from store.models import Order, OrderStatus, Shipment
from store.seed import migrate_and_seed
from tests.shop_profile.support import other_shop, write_profile

TOKEN = "profile-test-action-token-0123456789"
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "online_retail_tiny.csv"
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


@pytest.fixture(scope="module")
def berlin_actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real action server reading the Berlin shop's profile, on a freshly seeded store."""
    directory = tmp_path_factory.mktemp("berlin")
    profile = write_profile(directory, other_shop)
    url = f"sqlite:///{directory / 'shop.db'}"
    migrate_and_seed(url, FIXTURE, rng_seed=7)
    port = free_port()
    server = ServerProcess(
        name="action server", command=action_server_command(port), health_url=f"http://127.0.0.1:{port}/health",
        env={**OFFLINE_ENV, PROFILE_ENV: str(profile), "SHOPDESK_DATABASE_URL": url,
             "SHOPDESK_ACTION_TOKEN": TOKEN, "SHOPDESK_SIGNING_KEY": "k" * 32},
        cwd=PROJECT_ROOT, log_path=directory / "actions.log")
    with ProcessGroup([server]):
        yield f"http://127.0.0.1:{port}"


def call(base: str, action: str, text: str = "", intent: str = "greet", **message: Any) -> dict[str, Any]:
    sender = f"profile-{uuid.uuid4().hex[:8]}"
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "metadata": {},
              **message}
    body = {"next_action": action, "sender_id": sender, "version": "3.6.21", "domain": DOMAIN,
            "tracker": {"sender_id": sender, "slots": {}, "events": [{"event": "user", "text": text,
                                                                      "parse_data": latest}],
                        "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen", "latest_input_channel": "rest",
                        "latest_message": latest}}
    reply = requests.post(f"{base}/webhook", json=body, headers={TOKEN_HEADER: TOKEN}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_new_session_learns_the_shops_name_and_tone(berlin_actions: str) -> None:
    events = call(berlin_actions, "action_session_start")["events"]
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"shop_name": "Kiezladen Berlin", "assistant_name": "Lotte", "tone": "formal",
                     "greeting": "Hello.", "farewell": "Goodbye."}


def test_contact_details_are_the_other_shops(berlin_actions: str) -> None:
    text = call(berlin_actions, "action_contact_details", "can I call you?", "contact_customer_service")[
        "responses"][0]["text"]
    assert "030 1234 5678 (Germany) or +49 30 1234 5678 from abroad" in text
    assert "Monday to Saturday, 10:00 to 18:00 Berlin time" in text and "hilfe@kiezladen.example" in text
    assert "closed on Sundays and public holidays" in text
    assert not any(fact in text for fact in ("0113", "UK time", "shopdesk-demo", "weekends"))


def test_the_language_notice_gives_the_other_shops_email_and_hours(berlin_actions: str) -> None:
    text = call(berlin_actions, "action_explain_invalid_input", "hallo", "invalid_input",
                input_problem="language")["responses"][0]["text"]
    assert "hilfe@kiezladen.example (Monday to Saturday, 10:00 to 18:00 Berlin time)" in text


def test_the_handoff_notice_without_agents_gives_the_other_shops_hours(berlin_actions: str) -> None:
    text = call(berlin_actions, "action_handoff_to_human", "a person please", "contact_human_agent")[
        "responses"][0]["text"]
    assert "available Monday to Saturday, 10:00 to 18:00 Berlin time" in text and "hilfe@kiezladen.example" in text


def test_a_bad_profile_stops_the_action_server_with_its_problems(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, lambda data: data["office_hours"].update(time_zone="Berlin"))
    finished = subprocess.run(action_server_command(free_port()), cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=120, env={**OFFLINE_ENV, "PATH": "/usr/bin:/bin", PROFILE_ENV: str(profile),
                                                "SHOPDESK_ACTION_TOKEN": TOKEN})
    assert finished.returncode != 0 and "Traceback" not in finished.stderr
    assert f"action server: invalid shop profile {profile}:" in finished.stderr
    assert "office_hours.time_zone: unknown time zone 'Berlin'" in finished.stderr


def test_the_return_window_is_the_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from store.service import _return_blocker

    now = datetime(2026, 12, 7, 12, 0)
    order = Order(number="581146", status=OrderStatus.DELIVERED,
                  shipment=Shipment(carrier="DHL Paket", delivered_at=now - timedelta(days=20)))
    assert _return_blocker(order, now) is None  # the demo shop: 30 days
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, other_shop)))
    assert _return_blocker(order, now) == ("Order 581146 was delivered more than 14 days ago, so it is outside "
                                           "our return window.")
