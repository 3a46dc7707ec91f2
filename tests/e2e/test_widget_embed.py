"""The widget on the shop's own site (issue 18), in headless Chromium, through the real stack.

A plain HTML page on a different origin than ShopDesk holds nothing but the one script tag. ShopDesk's web
app runs in production mode (no storefront) on a port of its own; the shop's page takes the origin that
SHOPDESK_ALLOWED_ORIGINS allows (the stack's web port, which Rasa's socket.io checks too). The shop's page
server plays the shop's backend as well: on its account page it signs an identity token per page view.
A third server, on an origin nobody allowed, plays a foreign site.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import socketio
from sqlalchemy.orm import Session

from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import APP_PYTHON, PROJECT_ROOT, StackConfig
from store.db import make_engine
from tests.e2e.test_widget_browser import (  # the widget engineer's browser and widget helpers
    ROOT_JS,
    bot_texts,
    browser,  # noqa: F401  (fixture)
    chat_stack,  # noqa: F401  (fixture)
    conversation_id,
    open_widget,
    page,  # noqa: F401  (fixture)
    say,
    user_texts,
    wait_for_bot_text,
    wait_online,
    wait_until,
)
from web.catalog import DemoShopper, demo_shoppers
from web.shop_identity import issue_identity_token

pytestmark = pytest.mark.slow

IDENTITY_SECRET = "identity-secret-for-embed-tests-0123456789"


@dataclass
class Sites:
    shopdesk: str       # ShopDesk's web app, production mode
    shop: str           # the shop's own site (allowed)
    foreign: str        # a site nobody allowed
    rasa: str
    shopper: DemoShopper


def _page(shopdesk: str, token: str | None) -> bytes:
    attribute = f' data-customer-token="{token}"' if token else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>'
            f'<body><h1>Our shop</h1><script src="{shopdesk}/widget.js" data-title="Shop help"{attribute} defer>'
            f'</script></body></html>').encode()


def _serve(port: int, shopdesk: str) -> ThreadingHTTPServer:
    """The shop's site: `/` for a guest; `/account?email=…` as its backend renders it for a signed-in customer
    (a fresh token per view; `&tamper=1` puts its claims under another token's signature)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path not in ("/", "/account"):
                self.send_error(404)
                return
            token = None
            if parts.path == "/account":
                token = issue_identity_token(IDENTITY_SECRET, query["email"], subject="shop-customer-1")
                if query.get("tamper"):  # the customer's claims under the signature of someone else's token
                    header, _, signature = issue_identity_token(IDENTITY_SECRET, "other@shop.example").split(".")
                    token = f"{header}.{token.split('.')[1]}.{signature}"
            body = _page(shopdesk, token)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def sites(chat_stack: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:  # noqa: F811
    from web.vendor import vendor

    vendor()
    env = chat_stack.env()
    port = free_port()
    var = tmp_path_factory.mktemp("embed")
    server = ServerProcess(
        name="web app (production)", command=[str(APP_PYTHON), "-m", "web", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/favicon.ico", cwd=PROJECT_ROOT, log_path=var / "web.log",
        env={**env, "RASA_URL": chat_stack.rasa_url, "SHOPDESK_UPLOAD_DIR": str(var / "uploads"),
             "SHOPDESK_MODE": "production", "SHOPDESK_IDENTITY_SECRET": IDENTITY_SECRET},
    )
    shopdesk = f"http://127.0.0.1:{port}"
    engine = make_engine(env["SHOPDESK_DATABASE_URL"])
    with Session(engine) as s:
        shopper = demo_shoppers(s)[1]                      # the one with an order on its way
    engine.dispose()
    shop = _serve(chat_stack.web_port, shopdesk)           # the origin SHOPDESK_ALLOWED_ORIGINS names
    foreign = _serve(free_port(), shopdesk)
    try:
        with ProcessGroup([server]):
            yield Sites(shopdesk, f"http://127.0.0.1:{chat_stack.web_port}",
                        f"http://127.0.0.1:{foreign.server_address[1]}", chat_stack.rasa_url, shopper)
    finally:
        shop.shutdown()
        foreign.shutdown()


def alert_text(page: Any) -> str:  # noqa: F811
    return page.evaluate(f"({ROOT_JS}.querySelector('.sd-alert:not([hidden])') || {{textContent: ''}}).textContent")


def test_one_script_tag_on_the_shops_site_chats_and_keeps_its_history(page: Any, sites: Sites) -> None:  # noqa: F811
    page.goto(f"{sites.shop}/")
    open_widget(page)
    say(page, "hello")
    wait_for_bot_text(page, r"\S")
    say(page, "what's your refund policy?")
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length === 2")
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-bot:not(.sd-welcome)').length >= 2", 45_000)
    cid, users, bots = conversation_id(page), user_texts(page), bot_texts(page)
    assert users == ["hello", "what's your refund policy?"]

    page.reload()
    wait_online(page)
    page.evaluate("window.ShopDesk.open()")
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length >= 2")
    assert conversation_id(page) == cid
    assert user_texts(page) == users and bot_texts(page)[:len(bots)] == bots
    # Held by the widget token the widget keeps, not by a (third-party) cookie.
    assert page.context.cookies(sites.shopdesk) == []
    assert page.evaluate("Object.keys(localStorage).some(k => k.endsWith(':token'))")


def test_the_shops_signed_token_makes_it_the_customers_chat(page: Any, sites: Sites) -> None:  # noqa: F811
    order = sites.shopper.order_number
    page.goto(f"{sites.shop}/account?email={sites.shopper.email}")
    open_widget(page)
    assert alert_text(page) == ""
    say(page, f"where is my order {order}")
    answer = wait_for_bot_text(page, order)
    assert "what's the email" not in answer.lower()


def test_a_tampered_token_is_refused_and_the_chat_goes_on_as_a_guest(page: Any, sites: Sites) -> None:  # noqa: F811
    order = sites.shopper.order_number
    page.goto(f"{sites.shop}/account?email={sites.shopper.email}&tamper=1")
    open_widget(page)
    wait_until(page, f"{ROOT_JS}.querySelector('.sd-alert:not([hidden])')", 20_000)
    assert "signature is not valid" in alert_text(page) and "guest" in alert_text(page)
    say(page, f"where is my order {order}")
    assert "what's the email" in wait_for_bot_text(page, "email").lower()


def test_a_site_nobody_allowed_is_refused(page: Any, sites: Sites) -> None:  # noqa: F811
    page.goto(f"{sites.foreign}/")
    page.wait_for_selector("#shopdesk-widget[data-connection=unreachable]", state="attached", timeout=20_000)
    page.evaluate("window.ShopDesk.open()")
    assert f"cannot be used on {sites.foreign}" in alert_text(page)

    refused = requests.get(f"{sites.shopdesk}/api/session", headers={"Origin": sites.foreign}, timeout=10)
    assert refused.status_code == 403 and "SHOPDESK_ALLOWED_ORIGINS" in refused.json()["error"]
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(sites.rasa, socketio_path="/socket.io", transports=["polling"],
                       headers={"Origin": sites.foreign}, wait_timeout=10)
    allowed = socketio.Client(reconnection=False)
    allowed.connect(sites.rasa, socketio_path="/socket.io", transports=["polling"],
                    headers={"Origin": sites.shop}, wait_timeout=10)
    allowed.disconnect()
