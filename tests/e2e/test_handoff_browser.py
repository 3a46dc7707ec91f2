"""Two browsers, one conversation: a customer in the chat widget and an agent in the console.

Headless Debian Chromium (Playwright) against the real processes: storefront web app, Rasa (socket.io web
chat, handoff policy), action server, agent console, one seeded store database. The customer asks for a
person; the agent (signed in, online) gets the alert, claims, reads the transcript with intents, replies;
the customer sees the reply live; the bot stays quiet while the agent holds the conversation; the agent
returns it to the bot, which answers again. Screenshots go to tests/artifacts/handoff/ (git-ignored).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.processes import ProcessGroup, ServerProcess
from runtime.stack import APP_PYTHON, PROJECT_ROOT, StackConfig
from tests.e2e.axe import axe_problems
from tests.e2e.handoff_support import AGENT_PASSWORD, create_agent, handoff_stack, start_console  # noqa: F401
from tests.e2e.test_widget_browser import (  # the widget engineer's browser and widget helpers
    bot_texts,
    browser,  # noqa: F401  (fixture)
    conversation_id,
    open_widget,
    say,
    wait_for_bot_text,
)

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "handoff"
AGENT_EMAIL = "alice.agent@shop.example"
TIMEOUT_MS = 45_000
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def shot(page: Any, name: str) -> None:
    """The visible viewport: the widget is fixed to it (a full-page capture would misplace it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="module")
def servers(handoff_stack: StackConfig, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
            ) -> Iterator[dict[str, str]]:
    """The storefront and the agent console, on the handoff stack."""
    from web.vendor import vendor

    vendor()
    env, logs = handoff_stack.env(), tmp_path_factory.mktemp("handoff-web")
    port = handoff_stack.web_port  # the origin Rasa's socket.io channel accepts (SHOPDESK_ALLOWED_ORIGINS)
    web = ServerProcess(
        name="web app", command=[str(APP_PYTHON), "-m", "web", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/favicon.ico", cwd=PROJECT_ROOT, log_path=logs / "web.log",
        env={**env, "RASA_URL": handoff_stack.rasa_url, "SHOPDESK_UPLOAD_DIR": str(logs / "uploads")})
    create_agent(handoff_stack.database_url, AGENT_EMAIL, name="Alice")
    with ProcessGroup([web]):
        console = start_console(handoff_stack, logs)
        try:
            yield {"web": f"http://127.0.0.1:{port}", "console": console.url}  # type: ignore[attr-defined]
        finally:
            console.stop()


def test_customer_and_agent_in_two_browsers(browser: Any, servers: dict[str, str]) -> None:  # noqa: F811
    customer_ctx = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    agent_ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    customer, agent = customer_ctx.new_page(), agent_ctx.new_page()
    errors: list[str] = []
    for page in (customer, agent):
        page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # The agent signs in first and keeps the queue open (so they count as online).
        agent.goto(servers["console"])
        assert "/login" in agent.url
        agent.fill("input[name=email]", AGENT_EMAIL)
        agent.fill("input[name=password]", AGENT_PASSWORD)
        agent.click("#sign-in")
        agent.wait_for_selector("#lane-waiting")
        shot(agent, "01-agent-queue-empty")

        # The customer chats with the bot, then asks for a person.
        customer.goto(servers["web"])
        open_widget(customer)
        say(customer, "hello")
        wait_for_bot_text(customer, r"assistant\. I can track")
        before = len(bot_texts(customer))
        say(customer, "I want to talk to a human agent")
        notice = wait_for_bot_text(customer, r"connecting you with a member of our customer service team", before)
        assert re.search(r"next in line|number \d+ in the queue", notice) and "wait" in notice
        shot(customer, "02-customer-handed-over")

        # The agent is alerted (badge + title), claims, and reads the transcript with intents.
        # (Other tests of the session may have left conversations waiting: count them in.)
        item = agent.locator(f"#lane-waiting .handoff[data-conversation='{conversation_id(customer)}']")
        item.wait_for(timeout=TIMEOUT_MS)
        waiting = agent.locator("#lane-waiting .handoff").count()
        assert agent.inner_text("#alert-badge") == f"{waiting} waiting" and agent.is_visible("#alert-badge")
        assert agent.title().startswith(f"({waiting})")
        assert agent.get_attribute("body", "data-new-handoff") == item.get_attribute("data-id")
        assert "I want to talk to a human agent" in item.inner_text()
        shot(agent, "03-agent-alerted")
        item.locator("button.claim").click()
        agent.wait_for_selector("#reply-text", timeout=TIMEOUT_MS)
        transcript = agent.locator("#transcript")
        agent.wait_for_function("() => document.querySelectorAll('#transcript .msg.customer .intent').length >= 2")
        assert "contact_human_agent" in transcript.inner_text() and "greet" in transcript.inner_text()
        assert "sentiment" in transcript.inner_text()
        wait_for_bot_text(customer, r"Alice from customer service has joined", before)
        shot(agent, "04-agent-conversation")
        assert axe_problems(agent) == []  # the conversation page on the real stack (tests/e2e/axe.py)
        assert agent.evaluate("() => { const t = document.querySelector('#transcript');"
                              " return t.scrollHeight - t.scrollTop - t.clientHeight < 5; }")  # at the newest

        # The agent replies; the customer sees it live.
        before = len(bot_texts(customer))
        agent.fill("#reply-text", "Hi, Alice here from customer service. How can I help?")
        agent.click("#send")
        wait_for_bot_text(customer, r"Alice here from customer service", before)
        shot(customer, "05-customer-sees-agent-reply")

        # The customer writes; the agent sees it live; the bot says nothing.
        before = len(bot_texts(customer))
        say(customer, "My parcel never arrived and I need it for Friday")
        agent.wait_for_function(  # a function, not an expression: the console's CSP forbids eval
            "() => [...document.querySelectorAll('#transcript .msg.customer .text')]"
            ".some(n => n.textContent.includes('need it for Friday'))", timeout=TIMEOUT_MS)
        say(customer, XSS)
        agent.wait_for_function(
            "xss => [...document.querySelectorAll('#transcript .msg.customer .text')]"
            ".some(n => n.textContent === xss)", arg=XSS, timeout=TIMEOUT_MS)
        assert agent.evaluate("window.__xss") is None
        assert agent.locator("#transcript img, #transcript script").count() == 0
        time.sleep(4)  # time enough for any bot reply to arrive
        assert len(bot_texts(customer)) == before, "the bot spoke while an agent held the conversation"
        shot(agent, "06-agent-sees-customer-live")

        # Back to the bot: it answers again.
        agent.click("#return-to-bot")
        agent.wait_for_selector("text=Handed back to the bot.")
        wait_for_bot_text(customer, r"back with \w+, the assistant", before)
        before = len(bot_texts(customer))
        say(customer, "hello")
        wait_for_bot_text(customer, r"assistant\. I can track", before)
        shot(customer, "07-bot-answers-again")
        agent.goto(servers["console"])
        agent.wait_for_selector(f"#lane-closed .handoff[data-conversation='{conversation_id(customer)}']")
        assert agent.locator(f"#lane-waiting .handoff[data-conversation='{conversation_id(customer)}']").count() == 0
        shot(agent, "08-agent-queue-after")
        assert not errors, f"JavaScript errors: {errors}"
    finally:
        customer_ctx.close()
        agent_ctx.close()
