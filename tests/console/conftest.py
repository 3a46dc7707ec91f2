"""Fixtures for the agent console: a real temporary SQLite store (migrated, tiny seed), the Flask app,
agents, and a stand-in for Rasa's HTTP API that records what the console appends to conversations.

Route and service tests use the stand-in Rasa; tests/console/test_stack_pause_resume.py and
tests/e2e/test_handoff_browser.py run against the real Rasa server.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from console import create_app
from console.handoffs import HandoffDesk
from console.users import create_user
from store.db import make_engine
from store.migrate import upgrade_database
from store.models import Order, OrderStatus, ReturnRequest, ReturnStatus
from store.seed import seed
from tests.conftest import copy_database

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "online_retail_tiny.csv"
RASA_TOKEN = "rasa-token-for-console-tests-0123"
SIGNING_KEY = "signing-key-for-console-tests-0123"
PASSWORD = "a-long-enough-password"


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated and seeded once per session; each test gets its own copy (fast, and fully isolated)."""
    path = tmp_path_factory.mktemp("console-template") / "shop.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, return_share=0.0)
    with Session(engine) as s, s.begin():
        delivered = s.scalar(select(Order).where(Order.status == OrderStatus.DELIVERED).order_by(Order.id))
        now = datetime.now()
        s.add(ReturnRequest(order=delivered, status=ReturnStatus.REQUESTED, reason="arrived damaged",
                            created_at=now, updated_at=now))
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def store_url(store_template: Path, tmp_path: Path) -> str:
    return copy_database(store_template, tmp_path)


@pytest.fixture
def desk(sessions: sessionmaker[Session]) -> HandoffDesk:
    return HandoffDesk(sessions)


class FakeRasa:
    """Rasa's tracker API as the console uses it: GET .../tracker, POST .../tracker/events (recorded)."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self.posts: list[dict[str, Any]] = []
        self.fail = False
        self.hang = 0.0  # seconds to wait before answering: a Rasa that takes longer than the console waits
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _route(self) -> tuple[list[str], dict[str, list[str]]] | None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if fake.hang:
                    time.sleep(fake.hang)
                if fake.fail:
                    self._reply(500, {"status": "failure"})
                    return None
                if query.get("token") != [RASA_TOKEN]:
                    self._reply(401, {"status": "failure", "reason": "NotAuthenticated"})
                    return None
                return [unquote(s) for s in parts.path.strip("/").split("/")], query

            def do_GET(self) -> None:
                routed = self._route()
                if routed:
                    segments, _ = routed
                    self._reply(200, {"sender_id": segments[1], "events": fake.trackers.get(segments[1], [])})

            def do_POST(self) -> None:
                routed = self._route()
                if routed:
                    segments, query = routed
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    events = body if isinstance(body, list) else [body]
                    fake.posts.append({"conversation": segments[1], "query": query, "events": events})
                    fake.trackers.setdefault(segments[1], []).extend(events)
                    self._reply(200, {"sender_id": segments[1]})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the console gave up (hang)
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    yield rasa
    rasa.close()


@pytest.fixture
def app(store_url: str, fake_rasa: FakeRasa):  # type: ignore[no-untyped-def]
    return create_app({
        "TESTING": True,
        "SECRET_KEY": "flask-secret-for-console-tests-0123",
        "SHOPDESK_DATABASE_URL": store_url,
        "SHOPDESK_RASA_URL": fake_rasa.url,
        "SHOPDESK_RASA_AUTH_TOKEN": RASA_TOKEN,
        "SHOPDESK_SIGNING_KEY": SIGNING_KEY,
        "SHOPDESK_RASA_TIMEOUT_S": 3.0,
        "CONSOLE_POLL_SECONDS": 0.05,
        "CONSOLE_STREAM_SECONDS": 0.3,
        "CONSOLE_KNOWLEDGE": False,
    })


@pytest.fixture
def agents(sessions: sessionmaker[Session]) -> dict[str, Any]:
    return {
        "alice": create_user(sessions, "alice@shop.example", PASSWORD, "agent", "Alice"),
        "bob": create_user(sessions, "bob@shop.example", PASSWORD, "agent", "Bob"),
        "admin": create_user(sessions, "admin@shop.example", PASSWORD, "admin", "Ada"),
    }


def csrf_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: Any, email: str = "alice@shop.example", password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the CSRF token for later POSTs."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_from(client.get("/").get_data(as_text=True))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def user_event(text: str, intent: str, confidence: float = 0.9, sentiment: float | None = 0.0,
               entities: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    parse_data: dict[str, Any] = {"intent": {"name": intent, "confidence": confidence},
                                  "entities": entities or [], "text": text}
    if sentiment is not None:
        parse_data["sentiment"] = {"compound": sentiment, "pos": 0.0, "neu": 1.0, "neg": 0.0}
    return {"event": "user", "text": text, "timestamp": 1764072000.0, "parse_data": parse_data,
            "metadata": metadata or {}, "input_channel": "socketio"}
