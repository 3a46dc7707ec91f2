"""Run the real action classes against a real (temporary, seeded) store database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.desk
import store.db
from store.db import make_engine
from store.migrate import upgrade_database
from store.seed import seed
from store.service import OrderDesk
from store.tokens import issue_customer_token

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "online_retail_tiny.csv"
SIGNING_KEY = "test-signing-key-0123456789abcdef"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


def served_store(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the actions' order desk at the store `url` for one test, then let it go."""
    monkeypatch.setenv("SHOPDESK_DATABASE_URL", url)
    monkeypatch.setenv("SHOPDESK_ORDER_BACKEND", "sql")  # the orders are in that store (not a shop's API)
    monkeypatch.setenv("SHOPDESK_SIGNING_KEY", SIGNING_KEY)
    store.db.default_engine.cache_clear()
    actions.desk.order_desk.cache_clear()
    yield url
    store.db.default_engine().dispose()
    store.db.default_engine.cache_clear()
    actions.desk.order_desk.cache_clear()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    # anchored at noon today: whether a parcel is late by now must not depend on the hour the tests run
    seed(engine, FIXTURE, rng_seed=7, anchor=date.today(), return_share=0.0)
    engine.dispose()
    yield from served_store(url, monkeypatch)


@pytest.fixture
def desk(store_url: str) -> OrderDesk:
    return actions.desk.order_desk()


def token_for(customer_id: int, conversation_id: str = "conv-test") -> str:
    """A customer token bound to `conversation_id` (make_tracker's default sender)."""
    return issue_customer_token(customer_id, conversation_id, SIGNING_KEY)


def make_tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "track_order",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    active_loop: str | None = None,
    sender: str = "conv-test",
    candidates: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as Rasa sends it; `candidates` are slot values just extracted (what a form validates)."""
    all_slots = {"order_id": None, "email": None, "customer_id": None, "confirmation": None, "order_blocker": None,
                 "new_address": None, "return_reason": None, "requested_slot": None}
    all_slots.update(slots or {})
    all_slots.update(candidates or {})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or [],
              "metadata": metadata or {}}
    # Earlier turns set `slots`; then the latest user message; then the candidates extracted from it.
    events = [{"event": "slot", "name": k, "value": v} for k, v in (slots or {}).items() if v is not None] + [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}},
    ] + [{"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()]
    return Tracker(sender, all_slots, latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run_action(action: Any, tracker: Tracker, domain: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Events as dicts and the texts the action sent."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker, domain)
    events = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return list(events), [m.get("text") or "" for m in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
