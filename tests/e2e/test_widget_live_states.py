"""The widget's live states against the real stack: who the shopper talks to during a handoff, messages the
server refused or never acknowledged, product buttons screen readers can tell apart.

Headless Debian Chromium (Playwright) with the storefront web app, Rasa (our socket.io channel, handoff
policy), the action server and a seeded store, as in test_widget_browser.py. The agent's side is the
console's own code (console.operations: claim, reply, hand back; accounts through its CLI) driven from
the test, without the console's web pages (test_handoff_browser.py covers those). A lost acknowledgement
is made by dropping the widget's outgoing socket.io frames with Playwright's WebSocket routing.
Screenshots go to tests/artifacts/widget/ (git-ignored).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.handoffs import HandoffDesk
from console.models import Agent
from console.operations import claim, give_back, reply
from console.rasa_client import RasaClient
from console.security import ConsoleUser
from console.services import Services
from console.users import get_agent
from store.db import make_engine, session_factory
from tests.e2e.axe import assert_no_serious_findings
from tests.e2e.handoff_support import create_agent
from tests.e2e.test_widget_browser import (  # noqa: F401  (fixtures)
    BOT_TIMEOUT_MS,
    ROOT_JS,
    WebApp,
    bot_texts,
    browser,
    chat_stack,
    conversation_id,
    open_widget,
    page,
    push_bot_message,
    say,
    shot,
    sign_in_as,
    wait_for_bot_text,
    wait_until,
    web_app,
)

pytestmark = pytest.mark.slow


def typing_shown(page: Any) -> bool:  # noqa: F811
    return page.evaluate(f"!{ROOT_JS}.querySelector('[data-testid=shopdesk-typing]').hidden")


def header(page: Any) -> dict[str, str]:  # noqa: F811
    return page.evaluate(f"""(() => {{ const r = {ROOT_JS}; return {{
        title: r.querySelector('.sd-title').innerText, subtitle: r.querySelector('.sd-subtitle').innerText,
        avatar: r.querySelector('[data-testid=shopdesk-agent-avatar]').hidden ? '' :
                r.querySelector('[data-testid=shopdesk-agent-avatar]').innerText }}; }})()""")


def test_a_person_is_visibly_a_person(page: Any, web_app: WebApp) -> None:  # noqa: F811
    engine = make_engine(web_app.database_url)
    sessions = session_factory(engine)
    create_agent(web_app.database_url, "dana.agent@shop.example", name="Dana")
    with Session(engine) as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.email == "dana.agent@shop.example"))
    desk = HandoffDesk(sessions)
    desk.touch_agent(agent_id)                               # Dana's console is open: someone is online
    svc = Services(sessions=sessions, handoffs=desk, orders=None,  # type: ignore[arg-type]
                   rasa=RasaClient(web_app.rasa_url, web_app.rasa_token))
    dana = ConsoleUser(get_agent(sessions, agent_id))
    try:
        page.goto(web_app.url)
        open_widget(page)
        assert header(page)["subtitle"] == "We usually answer right away"
        say(page, "hello")
        wait_for_bot_text(page, r"assistant\. I can track")

        # Waiting for a person: the header says so, with the real place in the queue and the wait.
        before = len(bot_texts(page))
        say(page, "I want to talk to a human agent")
        wait_for_bot_text(page, r"connecting you with a member of our customer service team", before)
        wait_until(page, "window.ShopDesk.state().handoff === 'waiting'", 15_000)
        subtitle = header(page)["subtitle"]
        assert re.fullmatch(r"Waiting for a person · (you're next in line|you're number \d+ in the queue) · "
                            r"about \d+ min", subtitle), subtitle
        cid = conversation_id(page)
        handoff = desk.open_for_conversation(cid)
        assert handoff is not None
        place = desk.queue_status(handoff.id).position
        assert ("next in line" in subtitle) if place <= 1 else (f"number {place} " in subtitle)
        # No typing dots while nobody is typing (the bot is paused, no agent has joined).
        before = len(bot_texts(page))
        say(page, "are you there?")
        assert not typing_shown(page)
        wait_for_bot_text(page, r"passed to our customer service team", before)
        assert not typing_shown(page)
        shot(page, "40-waiting-for-a-person")

        # Dana claims and replies: her name and avatar on her messages and in the header.
        claim(svc, dana, handoff.id)
        wait_for_bot_text(page, r"Dana from customer service has joined the chat", before)
        wait_until(page, "window.ShopDesk.state().handoff === 'agent'", 15_000)
        assert header(page) == {"title": "Dana", "subtitle": "Customer service · You're talking to Dana",
                                "avatar": "D"}
        assert page.locator(".sd-system .sd-md").last.inner_text().startswith("Dana from customer service")
        reply(svc, dana, handoff.id, "Hi, Dana here. Let me look at your parcel.")
        message = page.locator(".sd-agent[data-agent=Dana]")
        message.wait_for(timeout=BOT_TIMEOUT_MS)
        assert message.locator(".sd-agent-name").inner_text() == "Dana · Customer service"
        assert message.locator(".sd-avatar").inner_text() == "D"
        assert message.locator(".sd-bubble .sd-visually-hidden").inner_text().startswith("Dana (Customer service)")
        assert page.evaluate(f"{ROOT_JS}.querySelector('[data-testid=shopdesk-with]').textContent") \
            == "You're talking to Dana"
        say(page, "thanks!")
        assert not typing_shown(page)
        shot(page, "41-talking-to-dana")
        assert_no_serious_findings(page, "talking to an agent")

        # A reload keeps who said what, and the state.
        page.reload()
        open_widget(page)
        page.locator(".sd-agent[data-agent=Dana]").wait_for()
        wait_until(page, "window.ShopDesk.state().handoff === 'agent'", 15_000)
        assert header(page)["title"] == "Dana"

        # Handed back: the assistant again, said plainly.
        before = len(bot_texts(page))
        give_back(svc, dana, handoff.id, close=False)
        wait_for_bot_text(page, r"back with \w+, the assistant", before)
        wait_until(page, "window.ShopDesk.state().handoff === 'bot'", 15_000)
        assert header(page)["subtitle"] == "We usually answer right away" and header(page)["avatar"] == ""
        before = len(bot_texts(page))
        say(page, "hello")
        assert typing_shown(page)                             # the assistant is working on it: real dots
        wait_for_bot_text(page, r"assistant\. I can track", before)
        assert not typing_shown(page)
    finally:
        open_now = desk.open_for_conversation(conversation_id(page)) if page.url.startswith("http") else None
        if open_now is not None:
            desk.end(open_now.id, agent_id, close=False, is_admin=True)
        desk.set_away(agent_id)
        engine.dispose()


def test_refused_and_unacknowledged_messages_fail_honestly_and_retry(browser: Any, web_app: WebApp  # noqa: F811
                                                                     ) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    context.add_init_script("window.ShopDeskConfig = {ackTimeoutMs: 2500};")
    page = context.new_page()  # noqa: F811
    drop = {"user_uttered": False}

    def socket(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_page(message: Any) -> None:
            if drop["user_uttered"] and isinstance(message, str) and '"user_uttered"' in message:
                return                                       # lost on the way: no acknowledgement comes back
            server.send(message)

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r"/socket\.io/"), socket)
    try:
        page.goto(web_app.url)
        open_widget(page)

        # Refused by the server: "Not sent" with its reason, never "Sent"; Edit puts it back in the box.
        page.evaluate("window.ShopDesk.send('x'.repeat(5001))")
        failed = page.locator(".sd-user[data-delivery=failed]")
        failed.wait_for(timeout=15_000)
        assert "Not sent: message must be 1 to 5000 characters" in failed.inner_text()
        assert page.locator(".sd-user[data-delivery=sent]").count() == 0
        failed.locator("[data-testid=shopdesk-edit-send]").click()
        assert page.locator(".sd-user").count() == 0
        assert page.locator("[data-testid=shopdesk-input]").input_value() == "x" * 5001
        page.fill("[data-testid=shopdesk-input]", "")

        # No acknowledgement: "Sending…", then "Not sent" with Retry (not "Sending…" for ever).
        drop["user_uttered"] = True
        say(page, "hello")
        pending = page.locator(".sd-user").last
        assert "Sending…" in pending.inner_text()
        page.locator(".sd-user[data-delivery=failed]").wait_for(timeout=10_000)
        assert "Not sent: the chat service didn't confirm it" in pending.inner_text()
        assert page.evaluate("window.ShopDesk.state().failed") == 1
        assert not bot_texts(page)                            # the bot never got it
        shot(page, "42-not-sent-retry")
        assert_no_serious_findings(page, "failed message")
        page.reload()                                         # still there, still failed, after a reload
        open_widget(page)
        page.locator(".sd-user[data-delivery=failed]").wait_for()

        drop["user_uttered"] = False
        page.locator("[data-testid=shopdesk-retry-send]").click()
        page.locator(".sd-user[data-delivery=sent]").wait_for(timeout=15_000)
        wait_for_bot_text(page, r"\S")
        assert page.evaluate("window.ShopDesk.state().outbox") == 0
    finally:
        context.close()


def test_product_buttons_name_their_product_for_screen_readers(page: Any, web_app: WebApp) -> None:  # noqa: F811
    page.goto(web_app.url)
    open_widget(page)
    say(page, "hello")
    wait_for_bot_text(page, r"\S")
    products = [{"sku": sku, "name": name, "price": "2.55", "currency": "GBP",
                 "buttons": [{"title": "Tell me more", "payload": f"/product_details{{\"sku\": \"{sku}\"}}"}]}
                for sku, name in (("85123A", "White Hanging Heart T-Light Holder"), ("71053", "White Metal Lantern"))]
    push_bot_message(web_app, conversation_id(page), {"text": "Ideas:", "data": {"custom": {
        "type": "product_carousel", "products": products}}})
    page.wait_for_selector("[data-testid=shopdesk-card]")
    labels = page.locator(".sd-card-button").evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert labels == ["Tell me more: White Hanging Heart T-Light Holder", "Tell me more: White Metal Lantern"]
    assert_no_serious_findings(page, "product cards")


def test_a_signed_in_customers_history_follows_them_to_another_device(browser: Any, web_app: WebApp  # noqa: F811
                                                                      ) -> None:
    laptop_ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB", is_mobile=True,
                                    has_touch=True)
    try:
        laptop, phone = laptop_ctx.new_page(), phone_ctx.new_page()
        sign_in_as(laptop, web_app, 2)
        open_widget(laptop)
        say(laptop, "what's your refund policy?")
        wait_for_bot_text(laptop, r"\S")

        sign_in_as(phone, web_app, 2)                        # the same shopper, signed in on their phone
        open_widget(phone)
        phone.locator("[data-testid=shopdesk-earlier]").first.wait_for(timeout=BOT_TIMEOUT_MS)
        past = phone.locator(".sd-user.sd-past")
        assert "what's your refund policy?" in past.all_inner_texts()[-1]
        assert phone.locator(".sd-bot.sd-past").count() >= 1
        assert conversation_id(phone) != conversation_id(laptop)      # each device holds its own conversation
        phone.locator("[data-testid=shopdesk-welcome]").wait_for()     # and this one starts with the welcome
        shot(phone, "43-history-on-another-device")
    finally:
        laptop_ctx.close()
        phone_ctx.close()
