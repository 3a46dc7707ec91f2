"""The chat widget in a real browser: headless Debian Chromium (Playwright) against the real stack.

Storefront web app + Rasa server (our socket.io web-chat channel, trained model) + action server + a
seeded store database. Screenshots of every step go to tests/artifacts/widget/ (git-ignored).
Needs `apt-get install -y chromium` (Playwright's own browser download cannot work here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.processes import ProcessGroup, ServerProcess
from runtime.stack import APP_PYTHON, PROJECT_ROOT, StackConfig, shopdesk_servers
from store.attachments import Attachment
from store.db import make_engine

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "widget"
# The channels these tests need, as docs/channels.md asks credentials.yml to declare them.
CHANNELS = {
    "bot.channels.webchat.WebChatInput": """
bot.channels.webchat.WebChatInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
  metadata_key: customData
""",
    "bot.channels.webhook.WebhookInput": """
bot.channels.webhook.WebhookInput:
  secret: ${SHOPDESK_WEBHOOK_SECRET}
""",
}
BOT_TIMEOUT_MS = 45_000
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@dataclass
class WebApp:
    url: str
    rasa_url: str
    rasa_token: str
    database_url: str


# ---- the stack -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chat_stack(request: pytest.FixtureRequest, demo_store_url: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    """The shared stack when credentials.yml enables our web-chat and webhook channels; otherwise a stack of
    our own whose credentials add the missing ones to the project's channels."""
    credentials = (PROJECT_ROOT / "credentials.yml").read_text()
    missing = [snippet for key, snippet in CHANNELS.items() if key not in credentials]
    if not missing:
        yield request.getfixturevalue("shop_stack")
        return
    from tests.conftest import latest_model

    var = tmp_path_factory.mktemp("widget-var")
    (var / "credentials.yml").write_text(credentials + "".join(missing))
    config = StackConfig(model=latest_model(), database_url=demo_store_url, var_dir=var)
    servers = shopdesk_servers(config)
    rasa = servers[-1]
    command = list(rasa.command)
    command[command.index("--credentials") + 1] = str(var / "credentials.yml")
    rasa.command = command
    with ProcessGroup(servers):
        yield config


@pytest.fixture(scope="module")
def web_app(chat_stack: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """On the stack's web port: the only origin (besides localhost) whose pages Rasa's socket.io accepts.
    Module-scoped, so other modules' web apps can take that port after this one."""
    from web.vendor import vendor

    vendor()  # the socket.io client, from the npm registry once (no-op when already there)
    env = chat_stack.env()
    port = chat_stack.web_port
    var = tmp_path_factory.mktemp("web")
    server = ServerProcess(
        name="web app", command=[str(APP_PYTHON), "-m", "web", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/favicon.ico", cwd=PROJECT_ROOT, log_path=var / "web.log",
        env={**env, "RASA_URL": chat_stack.rasa_url, "SHOPDESK_UPLOAD_DIR": str(var / "uploads")},
    )
    with ProcessGroup([server]):
        yield WebApp(f"http://127.0.0.1:{port}", chat_stack.rasa_url, env["RASA_AUTH_TOKEN"],
                     env["SHOPDESK_DATABASE_URL"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---- helpers -----------------------------------------------------------------------------------------------------


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_widget(page: Any) -> None:
    if page.get_attribute("#shopdesk-widget", "data-open") != "true":
        page.click("[data-testid=shopdesk-launcher]")
    page.wait_for_selector("[data-testid=shopdesk-panel]", state="visible")
    wait_online(page)


def wait_online(page: Any) -> None:
    page.wait_for_selector("#shopdesk-widget[data-connection=online]", state="attached", timeout=60_000)


def say(page: Any, text: str) -> None:
    page.fill("[data-testid=shopdesk-input]", text)
    page.keyboard.press("Enter")


ROOT_JS = "document.querySelector('#shopdesk-widget').shadowRoot"


# This conversation's bot bubbles: the widget's own welcome is no message of the bot's, and a signed-in
# customer's earlier conversations (.sd-past) are shown above it.
BOT_BUBBLES = ".sd-bot:not(.sd-welcome):not(.sd-past) .sd-bubble .sd-md"


def bot_texts(page: Any) -> list[str]:
    """The text of each bot bubble (cards are not bubbles)."""
    return page.evaluate(f"[...{ROOT_JS}.querySelectorAll('{BOT_BUBBLES}')].map(n => n.innerText)")


def user_texts(page: Any) -> list[str]:
    """One entry per user message, "" for an image without text."""
    return page.evaluate(f"""[...{ROOT_JS}.querySelectorAll('.sd-user:not(.sd-past)')]
        .map(row => (row.querySelector('.sd-md') || {{innerText: ''}}).innerText)""")


def wait_until(page: Any, expression: str, timeout_ms: int = BOT_TIMEOUT_MS, arg: Any = None) -> Any:
    """Poll a JavaScript expression until it is truthy. (Playwright's wait_for_function evaluates strings
    with eval, which the storefront's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        time.sleep(0.1)


def wait_for_bot_text(page: Any, pattern: str, start: int = 0) -> str:
    """The first bot message after the `start`-th that matches `pattern` (a regex), waiting for it."""
    regex = re.compile(pattern, re.I | re.S)
    wait_until(page, f"""([pattern, start]) => {{
        const texts = [...{ROOT_JS}.querySelectorAll('{BOT_BUBBLES}')].slice(start).map(n => n.innerText);
        return texts.some(t => new RegExp(pattern, 'is').test(t));
    }}""", arg=[pattern, start])
    return next(t for t in bot_texts(page)[start:] if regex.search(t))


def conversation_id(page: Any) -> str:
    return page.evaluate("window.ShopDesk.state().conversationId")


def tiny_png(path: Path, width: int = 96, height: int = 72) -> Path:
    """A real PNG (a red rectangle), written without any imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def push_bot_message(app: WebApp, cid: str, event: dict) -> None:
    """A bot message appended through Rasa's HTTP API and delivered live on the conversation's channel."""
    params = {"token": app.rasa_token, "output_channel": "latest", "execute_side_effects": "true"}
    response = requests.post(f"{app.rasa_url}/conversations/{cid}/tracker/events", params=params,
                             json={"event": "bot", **event}, timeout=30)
    assert response.status_code == 200, response.text


def sign_in_as(page: Any, app: WebApp, index: int) -> str:
    """Sign in as a demo shopper; returns the order number the sign-in page shows for them."""
    page.goto(f"{app.url}/signin")
    choice = page.locator(f"[data-testid=signin-{index}]")
    order = re.search(r"order (\S+)\)", choice.inner_text()).group(1)
    choice.click()
    page.wait_for_selector("[data-testid=signed-in-as]")
    return order


# ---- the tests ----------------------------------------------------------------------------------------------------


def test_shopping_and_chatting_as_a_signed_in_customer(page: Any, web_app: WebApp, tmp_path: Path) -> None:
    page.goto(web_app.url)
    assert page.locator(".product-card").count() >= 8
    shot(page, "01-storefront")

    order = sign_in_as(page, web_app, 1)                # the shopper with an order being prepared
    open_widget(page)
    shot(page, "02-widget-open")

    say(page, "hello")
    wait_for_bot_text(page, r"\S")
    page.wait_for_selector("[data-testid=shopdesk-quick-reply]:not([disabled])", timeout=BOT_TIMEOUT_MS)
    shot(page, "03-greeting")

    # A quick reply: its title is shown as the user's message, its payload goes to the bot, which answers
    # with the signed-in customer's own orders.
    before = len(bot_texts(page))
    page.locator("[data-testid=shopdesk-quick-reply]:not([disabled])", has_text="My recent orders").click()
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length >= 2")
    assert user_texts(page)[-1] == "My recent orders"
    wait_for_bot_text(page, re.escape(order), before)
    assert page.locator("[data-testid=shopdesk-quick-reply]:not([disabled])").count() >= 1
    shot(page, "04-quick-reply-orders")

    # An order question, answered for the signed-in customer: no email asked for.
    before = len(bot_texts(page))
    say(page, f"where is my order {order}")
    answer = wait_for_bot_text(page, re.escape(order), before)
    assert "what's the email" not in answer.lower()
    shot(page, "05-order-status")

    # Product cards from the recommender, and a click on one of their buttons.
    before = len(bot_texts(page))
    say(page, "/recommend_product")
    page.wait_for_selector("[data-testid=shopdesk-card]", timeout=BOT_TIMEOUT_MS)
    card = page.locator("[data-testid=shopdesk-card]").first
    assert re.search(r"£\d+\.\d\d", card.inner_text())
    shot(page, "06-product-cards")
    users, before = len(user_texts(page)), len(bot_texts(page))
    button = card.locator(".sd-card-button").first
    title = button.inner_text()
    button.click()
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length > {users}")
    assert user_texts(page)[-1] == title
    wait_for_bot_text(page, r"\S", before)
    shot(page, "07-card-clicked")

    # Reload: same conversation, history restored from the server, panel still open.
    cid = conversation_id(page)
    transcript = user_texts(page)
    page.reload()
    wait_online(page)
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length >= {len(transcript)}")
    assert conversation_id(page) == cid
    assert page.locator("[data-testid=shopdesk-panel]").is_visible()
    assert user_texts(page) == transcript
    assert any(order in t for t in bot_texts(page))
    shot(page, "08-after-reload")

    # An image attachment: uploaded, shown in the transcript, stored and linked to the conversation.
    users = len(user_texts(page))
    page.set_input_files("[data-testid=shopdesk-file]", str(tiny_png(tmp_path / "damaged.png")))
    page.wait_for_selector("[data-testid=shopdesk-staged]")      # previewed first, sent with Send
    page.click("[data-testid=shopdesk-send]")
    wait_until(page, f"""() => {{
        const img = {ROOT_JS}.querySelector('.sd-user img.sd-image');
        return img && img.complete && img.naturalWidth === 96;
    }}""", 30_000)
    assert len(user_texts(page)) == users + 1
    shot(page, "09-image-attached")
    engine = make_engine(web_app.database_url)
    with Session(engine) as s:
        rows = s.scalars(select(Attachment).where(Attachment.conversation_id == cid)).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].content_type == "image/png" and rows[0].customer_id is not None


def test_messages_written_offline_are_sent_once_after_reconnecting(page: Any, web_app: WebApp) -> None:
    page.goto(web_app.url)
    open_widget(page)
    page.evaluate("window.ShopDesk.disconnect()")
    say(page, "hi there")
    page.wait_for_selector(".sd-pending")
    assert page.evaluate("window.ShopDesk.state().outbox") == 1
    assert "Queued" in page.locator(".sd-pending").inner_text()
    shot(page, "10-queued-offline")

    page.evaluate("window.ShopDesk.reconnect()")
    wait_online(page)
    wait_for_bot_text(page, r"\S")
    wait_until(page, "window.ShopDesk.state().outbox === 0")
    page.reload()
    wait_online(page)
    page.evaluate("window.ShopDesk.open()")
    page.wait_for_selector(".sd-bot")
    assert user_texts(page).count("hi there") == 1

    # Closed panel: a new bot message shows the unread badge.
    cid = conversation_id(page)
    page.evaluate("window.ShopDesk.close()")
    push_bot_message(web_app, cid, {"text": "Anything else I can help with?"})
    page.wait_for_selector(".sd-badge:not([hidden])", state="attached")
    assert page.locator(".sd-badge").inner_text() == "1"
    assert "1 unread" in page.get_attribute("[data-testid=shopdesk-launcher]", "aria-label")
    shot(page, "11-unread-badge")

    # "New conversation": a fresh id, bound to the cookie, and an empty transcript.
    open_widget(page)
    assert not page.locator(".sd-badge").is_visible()
    page.click("[data-testid=shopdesk-new]")
    page.click("[data-testid=shopdesk-confirm-new]")           # asked first: this chat ends
    wait_until(page, f"window.ShopDesk.state().conversationId !== '{cid}'")
    wait_online(page)
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-row:not(.sd-welcome)').length === 0")
    new_cid = conversation_id(page)
    assert page.evaluate("fetch('/api/session').then(r => r.json()).then(b => b.conversation_id)") == new_cid


def test_widget_follows_the_cookie_when_its_conversation_was_signed_out_of(page: Any, web_app: WebApp) -> None:
    """Signed out in another tab: the server refuses the old conversation's token, the widget asks the web app
    again and joins the cookie's new conversation (and can chat there)."""
    page.goto(web_app.url)
    open_widget(page)
    old = conversation_id(page)
    page.evaluate("""async () => {
        const session = await (await fetch('/api/session')).json();
        await fetch('/signout', {method: 'POST', body: new URLSearchParams({csrf_token: session.csrf_token})});
    }""")
    page.evaluate("window.ShopDesk.disconnect()")
    page.evaluate("window.ShopDesk.reconnect()")
    wait_online(page)
    new = conversation_id(page)
    assert new != old
    assert page.evaluate("fetch('/api/session').then(r => r.json()).then(b => b.conversation_id)") == new
    say(page, "hello")
    wait_for_bot_text(page, r"\S")
    assert page.get_attribute("#shopdesk-widget", "data-conversation-id") == new


def test_html_in_user_and_bot_messages_is_shown_as_text(page: Any, web_app: WebApp) -> None:
    page.goto(web_app.url)
    open_widget(page)
    say(page, XSS)
    page.wait_for_selector(".sd-user")
    wait_for_bot_text(page, r"\S")
    cid = conversation_id(page)
    bot_html = ('<img src=x onerror="window.__xss=3"> <script>window.__xss=4</script> **bold** '
                '[click](javascript:window.__xss=5) [safe](https://example.com/help)')
    push_bot_message(web_app, cid, {"text": bot_html})
    push_bot_message(web_app, cid, {"text": "Ideas:", "data": {"custom": {
        "type": "product_carousel", "text": "1. <b>Bag</b>",
        "products": [{"sku": "20724", "name": "<img src=x onerror=window.__xss=6>", "price": "0.85",
                      "currency": "GBP", "image_url": "javascript:window.__xss=7", "reason": "<script>x</script>",
                      "buttons": [{"title": "<b>More</b>", "payload": "/recommend_similar"}]}]}}})
    page.wait_for_selector("[data-testid=shopdesk-card]")
    shot(page, "12-xss-as-text")

    def check() -> None:
        assert page.evaluate("window.__xss") is None
        root = ROOT_JS
        assert page.evaluate(f"{root}.querySelectorAll('.sd-log script, .sd-log img[src=\"x\"], "
                             f".sd-log b').length") == 0
        hrefs = page.evaluate(f"[...{root}.querySelectorAll('.sd-log a')].map(a => a.href)")
        assert "https://example.com/help" in hrefs and all(h.startswith(("http:", "https:")) for h in hrefs)
        assert page.evaluate(f"{root}.querySelectorAll('.sd-log strong').length") >= 1
        assert XSS in "\n".join(user_texts(page))
        assert any("<script>window.__xss=4</script>" in t for t in bot_texts(page))
        card = page.locator("[data-testid=shopdesk-card]").last
        assert "<img src=x onerror=window.__xss=6>" in card.inner_text()
        assert card.locator("img").count() == 0            # a javascript: image URL is dropped

    check()
    page.reload()                                          # the restored transcript renders the same way
    wait_online(page)
    page.evaluate("window.ShopDesk.open()")
    page.wait_for_selector("[data-testid=shopdesk-card]")
    check()


def test_phone_screen_chinese_ui_and_keyboard(browser: Any, web_app: WebApp) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        page.goto(web_app.url)
        launcher = page.locator("[data-testid=shopdesk-launcher]")
        assert launcher.get_attribute("aria-label") == "打开聊天"
        launcher.focus()
        page.keyboard.press("Enter")
        wait_online(page)
        box = page.locator("[data-testid=shopdesk-panel]").bounding_box()
        assert box["width"] <= 360 and box["x"] >= 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.locator("[data-testid=shopdesk-input]").get_attribute("placeholder") == "请输入消息…"
        # On a touch screen the panel takes the focus, not the message box: no keyboard over the panel.
        assert page.evaluate("document.querySelector('#shopdesk-widget').shadowRoot.activeElement"
                             ".dataset.testid") == "shopdesk-panel"
        shot(page, "13-phone-zh")
        page.keyboard.press("Escape")
        assert not page.locator("[data-testid=shopdesk-panel]").is_visible()
        assert page.evaluate("document.querySelector('#shopdesk-widget').shadowRoot.activeElement"
                             ".dataset.testid") == "shopdesk-launcher"
    finally:
        context.close()


def test_signed_webhook_on_the_real_stack(chat_stack: StackConfig, demo_store_url: str) -> None:
    """A text-only messaging back end: signed requests, a verified shopper, buttons as numbered options."""
    from store.tokens import issue_customer_token
    from web.catalog import demo_shoppers

    env = chat_stack.env()
    engine = make_engine(demo_store_url)
    with Session(engine) as s:
        shopper = demo_shoppers(s)[0]
    engine.dispose()
    url = f"{chat_stack.rasa_url}/webhooks/shopdesk_webhook/webhook"
    sender = f"wa-{time.time_ns()}"

    def post(payload: dict, secret: str = env["SHOPDESK_WEBHOOK_SECRET"]) -> requests.Response:
        """Signed exactly as docs/channels.md tells a back end to sign."""
        body = json.dumps(payload).encode()
        timestamp = str(int(time.time()))
        digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-ShopDesk-Timestamp": timestamp,
                   "X-ShopDesk-Signature": f"v1={digest}"}
        return requests.post(url, data=body, headers=headers, timeout=60)

    token = issue_customer_token(shopper.id, f"webhook:{sender}", env["SHOPDESK_SIGNING_KEY"])  # its conversation
    greeting = post({"sender": sender, "message": "hello", "customer_token": token, "reply": "sync"})
    assert greeting.status_code == 200, greeting.text
    text = "\n".join(m.get("text", "") for m in greeting.json()["messages"])
    assert "(Reply with a number.)" in text and all("buttons" not in m for m in greeting.json()["messages"])
    options = dict(re.findall(r"^(\d+)\. (.+)$", text, re.M))
    number = next(n for n, title in options.items() if title == "My recent orders")

    orders = post({"sender": sender, "message": number, "reply": "sync"})
    assert orders.status_code == 200, orders.text
    reply = "\n".join(m.get("text", "") for m in orders.json()["messages"])
    assert shopper.order_number in reply and "what's the email" not in reply.lower()

    forged = post({"sender": sender, "message": "hello"}, secret="not-the-shared-secret-0000")
    assert forged.status_code == 401 and forged.json()["error"] == "invalid signature"
