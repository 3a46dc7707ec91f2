"""The shop's order API as real processes: the reference server over a seeded store, and a misbehaving one.

Two databases, as in a connected deployment: the *shop's* store (seeded from the tiny fixture, served by
store.reference_order_api) and *ShopDesk's own* (migrated, no orders: only the identity throttle and the
other security records), which HttpOrderBackend is given.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from runtime.processes import ProcessGroup, ServerProcess, free_port
from store.db import make_engine, session_factory
from store.http_backend import HttpOrderBackend
from store.migrate import upgrade_database
from store.seed import seed
from store.service import OrderDesk
from tests.conftest import copy_database

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "online_retail_tiny.csv"
API_TOKEN = "reference-api-secret-0123456789"
ALICE, BOB = 10001, 10002  # ALICE: 900001 processing, 900002 shipped, 900003 delivered; BOB: 900004, C900005, 900006


def seeded_shop(directory: Path) -> str:
    url = f"sqlite:///{directory / 'shop.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, anchor=date.today(), return_share=0.0)  # noon today, as tests/actions
    engine.dispose()
    return url


def reference_server(database_url: str, log_dir: Path, token: str = API_TOKEN) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        name="reference order API",
        command=[sys.executable, "-m", "store.reference_order_api", "--port", str(port),
                 "--database-url", database_url],
        health_url=f"http://127.0.0.1:{port}/v1/health", env={"SHOPDESK_ORDER_API_TOKEN": token},
        cwd=ROOT, log_path=log_dir / f"order-api-{port}.log")


def base_url(server: ServerProcess) -> str:
    return server.health_url.removesuffix("/v1/health")


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shop's own store (what its order system holds), seeded once per test module."""
    return seeded_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def order_api(shop_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The reference order API as a real process on a free port; its base URL."""
    server = reference_server(shop_url, tmp_path_factory.mktemp("api-logs"))
    with ProcessGroup([server], supervise=False):
        yield base_url(server)


@pytest.fixture
def shopdesk_sessions(migrated_template: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """ShopDesk's own database: migrated, holding no orders."""
    engine = make_engine(copy_database(migrated_template, tmp_path))
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def backend(order_api: str, shopdesk_sessions: sessionmaker[Session]) -> HttpOrderBackend:
    return HttpOrderBackend(order_api, API_TOKEN, sessions=shopdesk_sessions, timeout_s=5)


@pytest.fixture(scope="module")
def shop_desk(shop_url: str) -> Iterator[OrderDesk]:
    """The shop's store read directly (SQL): what the API should have answered, and whether a change landed."""
    engine = make_engine(shop_url)
    yield OrderDesk(session_factory(engine))
    engine.dispose()


# --- an order API that misbehaves: a real HTTP server (in a thread), one behaviour per path prefix -------------

ORDER = {"number": "900001", "customer_id": ALICE, "status": "processing", "placed_at": "2026-12-01T10:00:00",
         "total": "12.50", "currency": "GBP", "shipping_address": "1 High Street, York YO1 7HH, United Kingdom",
         "lines": [], "shipment": None, "invoice_number": None}


class _Misbehaving(BaseHTTPRequestHandler):
    """`/<mode>/v1/...`: `garbage` (200, not JSON), `wrong-shape` (200, JSON missing fields), `bad-status` (an
    order status outside the contract), `html-404` (a proxy's page), `error-500`, `slow` (answers after 3 s),
    `slow-body` (the headers at once, the body stalls), `slow-change` (so do the changes' answers), `huge`
    (2 MiB), `other-customer` (someone else's order), `refuse-changes` (a valid order, every change refused
    with 409), `good` (a valid order)."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        type(self).seen.append((self.command, self.path))
        match mode:
            case "garbage":
                self._send(200, b"{this is not json")
            case "wrong-shape":
                self._send(200, json.dumps({"number": 900001, "orders": "many"}).encode())
            case "bad-status":
                self._send(200, json.dumps({**ORDER, "status": "lost in space"}).encode())
            case "html-404":
                self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            case "error-500":
                self._send(500, json.dumps({"error": "internal"}).encode())
            case "slow":
                time.sleep(3)
                self._send(200, json.dumps(ORDER).encode())
            case "slow-body":
                self._stall()
            case "slow-change" if self.command == "POST":
                self._stall()
            case "huge":
                self._send(200, json.dumps({**ORDER, "padding": "x" * (2 << 20)}).encode())
            case "refuse-changes" if self.command == "POST":
                self._send(409, json.dumps({"error": "not_allowed",
                                            "message": "This order is  already\n packed.  " + "x" * 900}).encode())
            case "other-customer":
                self._send(200, json.dumps({**ORDER, "customer_id": BOB}).encode())
            case _:
                self._send(200, json.dumps(ORDER).encode())

    def _stall(self) -> None:
        """The headers at once, then the body stalls."""
        body = json.dumps(ORDER).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:10])
        self.wfile.flush()
        time.sleep(3)
        self.wfile.write(body[10:])

    def log_message(self, *args: Any) -> None:
        pass

    seen: list[tuple[str, str]] = []


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the `slow` handler writes to a client that gave up: expected


@pytest.fixture(scope="module")
def misbehaving_api() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Its base URL (append the mode) and the requests it received."""
    server = _QuietServer(("127.0.0.1", 0), _Misbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Misbehaving.seen
    finally:
        server.shutdown()
        server.server_close()
