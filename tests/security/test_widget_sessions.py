"""The web widget's conversations cannot be taken over (issue 15, items 1 and 6), on the real running stack.

Rasa (our socket.io channel), the action server, the web app and a seeded store, each a real process. The
victim is a signed-in shopper chatting through the web app's session like the widget does; the attacker
has a socket.io client of its own, knows the victim's conversation id and even holds copies of its tokens.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.attachments import Attachment
from store.db import make_engine
from store.security import throttle_key
from web.catalog import demo_shoppers

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REPLY_TIMEOUT_S = 60


class Widget:
    """A socket.io client speaking the widget's protocol (as shopdesk.js does), from a page at `origin`."""

    def __init__(self, rasa_url: str, origin: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.lock = threading.Lock()
        self.bot: list[dict] = []
        self.confirmed: list[str] = []
        self.tokens: list[dict] = []
        self.sio.on("bot_uttered", lambda data: self._add(self.bot, data))
        self.sio.on("session_confirm", lambda data: self._add(self.confirmed, data))
        self.sio.on("session_token", lambda data: self._add(self.tokens, data))
        self.sio.connect(rasa_url, socketio_path="/socket.io", transports=["polling"], headers={"Origin": origin},
                         wait_timeout=20)

    def _add(self, into: list, item: Any) -> None:
        with self.lock:
            into.append(item)

    def request(self, session_id: Any, token: Any = None) -> str:
        """session_request; the id the server confirmed."""
        count = len(self.confirmed)
        self.sio.emit("session_request", {"session_id": session_id, "session_token": token})
        deadline = time.monotonic() + 20
        while len(self.confirmed) == count:
            assert time.monotonic() < deadline, "no session_confirm"
            time.sleep(0.05)
        return self.confirmed[-1]

    def say(self, text: str, session_id: str, customer_token: str | None = None) -> dict:
        """One message; waits for its ack and, when it was received, for the bot's whole reply."""
        metadata = {"customer_token": customer_token} if customer_token else {}
        before = len(self.bot)
        ack = self.sio.call("user_uttered", {"message": text, "session_id": session_id, "customData": metadata},
                            timeout=20)
        if ack.get("status") == "received":
            self.wait_reply(before)
        return ack

    def wait_reply(self, before: int) -> list[str]:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while len(self.bot) == before:
            assert time.monotonic() < deadline, "no reply from the bot"
            time.sleep(0.1)
        settled = len(self.bot)
        while True:                      # a reply can be several messages: wait until it has settled
            time.sleep(1.5)
            if len(self.bot) == settled:
                return self.texts(before)
            settled = len(self.bot)

    def texts(self, start: int = 0) -> list[str]:
        with self.lock:
            return [str(m.get("text") or "") + str(m.get("custom") or "") for m in self.bot[start:]]

    def close(self) -> None:
        self.sio.disconnect()


class Shopper:
    """A browser on the storefront: its cookie session, signed in as a demo shopper."""

    def __init__(self, web_url: str) -> None:
        self.url = web_url
        self.http = requests.Session()

    def session(self) -> dict:
        response = self.http.get(f"{self.url}/api/session", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def sign_in(self, customer_id: int) -> None:
        response = self.http.post(f"{self.url}/signin", data={"customer_id": str(customer_id),
                                                             "csrf_token": self.session()["csrf_token"]},
                                  allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text

    def sign_out(self) -> None:
        response = self.http.post(f"{self.url}/signout", data={"csrf_token": self.session()["csrf_token"]},
                                  allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text

    def new_conversation(self) -> dict:
        response = self.http.post(f"{self.url}/api/conversations", timeout=30,
                                  headers={"X-ShopDesk-CSRF": self.session()["csrf_token"]})
        assert response.status_code == 201, response.text
        return response.json()

    def upload(self) -> requests.Response:
        return self.http.post(f"{self.url}/api/attachments", files={"image": ("photo.png", PNG, "image/png")},
                              headers={"X-ShopDesk-CSRF": self.session()["csrf_token"]}, timeout=30)


@pytest.fixture(scope="module")
def shoppers(shop_stack: Any) -> list[Any]:
    engine = make_engine(shop_stack.database_url)
    with Session(engine) as s:
        found = demo_shoppers(s)
    engine.dispose()
    assert len(found) >= 2
    return found


@pytest.fixture
def widgets(shop_stack: Any, web_app: Any) -> Iterator[Any]:
    opened: list[Widget] = []

    def open_widget(origin: str | None = None) -> Widget:
        widget = Widget(shop_stack.rasa_url, origin or web_app.url)
        opened.append(widget)
        return widget

    yield open_widget
    for widget in opened:
        widget.close()


def mentions(texts: list[str], order_number: str) -> bool:
    return any(re.search(rf"\b{re.escape(order_number)}\b", t) for t in texts)


def signed_in_and_chatting(web_app, widgets, shopper) -> tuple[Shopper, dict, Any]:
    """A browser signed in as `shopper`, its `/api/session`, and a widget joined to that conversation."""
    browser = Shopper(web_app.url)
    browser.sign_in(shopper.id)
    session = browser.session()
    chat = widgets()
    assert chat.request(session["conversation_id"], session["session_token"]) == session["conversation_id"]
    return browser, session, chat


def test_knowing_the_conversation_id_gives_another_client_nothing(web_app, widgets, shoppers) -> None:
    shopper = shoppers[0]
    _, session, chat = signed_in_and_chatting(web_app, widgets, shopper)
    victim_id = session["conversation_id"]

    thief = widgets()
    forged = session["session_token"][:-4] + ("AAAA" if not session["session_token"].endswith("AAAA") else "BBBB")
    joined = [thief.request(victim_id), thief.request(victim_id, forged),
              thief.request(victim_id, session["customer_token"])]         # a stolen customer token is no key
    assert victim_id not in joined and len(set(joined)) == 3
    assert thief.say("show me my recent orders", victim_id)["status"] == "rejected"   # not its conversation

    chat.say("show me my recent orders", victim_id, session["customer_token"])
    assert mentions(chat.texts(), shopper.order_number)                  # the victim is served
    time.sleep(1)
    assert not mentions(thief.texts(), shopper.order_number) and thief.bot == []

    # In a conversation of its own, the victim's customer token (bound to the victim's) proves nothing.
    own = joined[-1]
    thief.say("show me my recent orders", own, session["customer_token"])
    assert thief.bot and not mentions(thief.texts(), shopper.order_number)
    start = len(thief.bot)
    thief.say(f"where is my order {shopper.order_number}", own, session["customer_token"])
    asked = " ".join(thief.texts(start)).lower()
    assert "email" in asked and "being prepared" not in asked and shopper.name.lower() not in asked


def test_after_sign_out_the_old_tokens_give_nothing(web_app, widgets, shoppers) -> None:
    shopper = shoppers[1]
    browser, old, still_open = signed_in_and_chatting(web_app, widgets, shopper)  # a tab left open in it
    old_id = old["conversation_id"]
    still_open.say("show me my recent orders", old_id, old["customer_token"])
    assert mentions(still_open.texts(), shopper.order_number)

    browser.sign_out()
    assert browser.session()["conversation_id"] != old_id
    later = widgets()                       # whoever kept the old session token
    assert later.request(old_id, old["session_token"]) != old_id
    start = len(still_open.bot)
    still_open.say("show me my recent orders", old_id, old["customer_token"])      # the revoked conversation
    replies = still_open.texts(start)
    assert replies and not mentions(replies, shopper.order_number)


def test_only_the_shops_pages_may_open_the_widgets_socket(shop_stack, web_app, widgets) -> None:
    assert widgets(web_app.url).sio.connected
    assert widgets(web_app.url.replace("127.0.0.1", "localhost")).sio.connected
    for origin in ("http://evil.example", "null", web_app.url.replace(str(shop_stack.web_port), "1")):
        with pytest.raises(socketio.exceptions.ConnectionError):
            Widget(shop_stack.rasa_url, origin)


def test_new_conversations_do_not_reset_the_upload_quota(shop_stack, web_app) -> None:
    limit = 20                              # web.settings: SHOPDESK_MAX_ATTACHMENTS_PER_CLIENT
    browser = Shopper(web_app.url)
    statuses = []
    for _ in range(limit + 3):
        browser.new_conversation()          # a fresh conversation id each time
        response = browser.upload()
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert "most images allowed" in response.json()["error"]
    # Other tests of this session may have uploaded from this address too: the quota is reached at the latest
    # after `limit` uploads, and from then on every new conversation is refused as well.
    assert set(statuses) <= {201, 429} and 429 in statuses and statuses.index(429) <= limit
    first_refusal = statuses.index(429)
    assert statuses[first_refusal:] == [429] * (len(statuses) - first_refusal)
    engine = make_engine(shop_stack.database_url)
    with Session(engine) as s:
        stored = s.scalar(select(func.count()).select_from(Attachment)
                          .where(Attachment.client_key == throttle_key("client", "127.0.0.1")))
    engine.dispose()
    assert stored == limit                  # the refused ones stored nothing
