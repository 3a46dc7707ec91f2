"""Fixtures for the web app: a temp store (tiny seed + an open return), the app, and a stand-in Rasa API."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.migrate import upgrade_database
from store.models import Order, OrderStatus, Product, ReturnRequest, ReturnStatus
from store.seed import seed
from web import create_app

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "online_retail_tiny.csv"
RASA_TOKEN = "rasa-token-for-tests-0123456789"
SIGNING_KEY = "signing-key-for-tests-0123456789"
HTML_NAME = '<script>alert("x")</script> Mug'


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, return_share=0.0)
    with Session(engine) as s, s.begin():
        delivered = s.scalar(select(Order).where(Order.status == OrderStatus.DELIVERED).order_by(Order.id))
        now = datetime.now()
        s.add(ReturnRequest(order=delivered, status=ReturnStatus.REQUESTED, reason="arrived damaged",
                            created_at=now, updated_at=now))
        s.add(Product(sku="99999X", name=HTML_NAME, unit_price=Decimal("2.50"), stock=5))
    engine.dispose()
    return url


class FakeRasa:
    """Rasa's tracker endpoint as far as the web app uses it (GET /conversations/<id>/tracker?token=)."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[dict]] = {}
        self.requests: list[dict] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                fake.requests.append({"path": parts.path, "query": query})
                segments = parts.path.strip("/").split("/")
                if query.get("token") != [RASA_TOKEN]:
                    return self._reply(401, {"status": "failure", "reason": "NotAuthenticated"})
                if len(segments) != 3 or segments[0] != "conversations" or segments[2] != "tracker":
                    return self._reply(404, {})
                self._reply(200, {"sender_id": segments[1], "events": fake.trackers.get(segments[1], [])})

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake_rasa():
    rasa = FakeRasa()
    yield rasa
    rasa.close()


@pytest.fixture
def app(store_url: str, tmp_path: Path, fake_rasa: FakeRasa):
    return create_app({
        "TESTING": True,
        "SECRET_KEY": "flask-secret-for-tests-0123456789",
        "SHOPDESK_DATABASE_URL": store_url,
        "SHOPDESK_RASA_URL": fake_rasa.url,
        "SHOPDESK_RASA_PUBLIC_URL": "http://127.0.0.1:5005",
        "SHOPDESK_RASA_AUTH_TOKEN": RASA_TOKEN,
        "SHOPDESK_SIGNING_KEY": SIGNING_KEY,
        "SHOPDESK_UPLOAD_DIR": str(tmp_path / "uploads"),
        "SHOPDESK_MAX_UPLOAD_BYTES": 64 * 1024,
        "SHOPDESK_RASA_TIMEOUT_S": 2.0,
        "SHOPDESK_MODE": "demo",
    })


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client) -> str:
    return client.get("/api/session").get_json()["csrf_token"]


def sign_in(client, index: int = 0) -> int:
    """Sign in as the index-th demo shopper; returns the customer id."""
    from web.catalog import demo_shoppers

    app = client.application
    with app.app_context():
        from web.store_access import store_session

        with store_session() as s:
            shopper = demo_shoppers(s)[index]
    response = client.post("/signin", data={"customer_id": str(shopper.id), "csrf_token": csrf(client)})
    assert response.status_code == 302, response.data
    return shopper.id
