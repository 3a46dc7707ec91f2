"""The agent console as agents and admins use it, in a real browser: headless Debian Chromium (Playwright).

The console runs as its own process (`python -m console serve`) on a fresh store database. Rasa's HTTP API
is the tracker stand-in of tests/console (FakeRasa): these tests need exact control over what a conversation
holds and when Rasa stops answering (60 messages, a message arriving while the agent reads older ones, a Rasa
that answers later than the console waits). The real Rasa server is exercised by test_handoff_browser.py.
The review inbox reads a tracker store written row by row as Rasa's SQLTrackerStore writes it.

Every page checked here also passes axe-core (vendored in tests/e2e/vendor/) with no serious or critical
violation and no landmark or heading finding. Screenshots go to tests/artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from console.handoffs import HandoffDesk
from runtime.stack import PROJECT_ROOT, StackConfig
from store.db import make_engine, session_factory
from store.models import Customer
from tests.console.conftest import RASA_TOKEN, FakeRasa, user_event
from tests.e2e.axe import axe_problems
from tests.e2e.handoff_support import AGENT_PASSWORD, create_agent, start_console
from tests.e2e.test_widget_browser import browser  # noqa: F401  (fixture)
from tests.training.support import TrackerWriter
from training.models_registry import ModelRegistry
from training.tables import Annotation, ModelStatus

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "console"
ADMIN, AGENT = "ada.admin@shop.example", "alice.agent@shop.example"
TIMEOUT_MS = 20_000
MARKDOWN = "**Order 581142** is on its way:\n- shipped on Monday\n- [track it](https://carrier.example/t/1)"
CUSTOMER_HTML = "**not bold** <b>not bold either</b> <img src=x onerror=\"window.__xss=1\">"


@dataclass
class Console:
    url: str
    database_url: str
    rasa: FakeRasa
    tracker: TrackerWriter
    models_dir: Path

    def sessions(self) -> Any:
        return session_factory(make_engine(self.database_url))


def bot_event(text: str, agent: str | None = None) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": time.time(),
            "metadata": {"shopdesk_agent": agent} if agent else {}}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    var = tmp_path_factory.mktemp("console-var")
    database_url = f"sqlite:///{var / 'shop.db'}"
    create_agent(database_url, ADMIN, role="admin", name="Ada")  # migrates the fresh store
    create_agent(database_url, AGENT, name="Alice")
    create_agent(database_url, "bob.agent@shop.example", name="Bob")
    models = var / "models"
    models.mkdir()
    tracker = TrackerWriter(f"sqlite:///{var / 'tracker.db'}")
    rasa = FakeRasa()
    stack = StackConfig(database_url=database_url, var_dir=var)  # only its settings: no Rasa is started
    group = start_console(stack, var, {"RASA_URL": rasa.url, "RASA_AUTH_TOKEN": RASA_TOKEN,
                                       "SHOPDESK_RASA_TIMEOUT_S": "1", "SHOPDESK_CONSOLE_POLL_SECONDS": "0.3",
                                       "SHOPDESK_MODELS_DIR": str(models)})
    try:
        yield Console(group.url, database_url, rasa, tracker, models)  # type: ignore[attr-defined]
    finally:
        group.stop()
        rasa.close()
        tracker.engine.dispose()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:  # noqa: F811
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1300, "height": 850}, locale="en-GB",
                                      timezone_id="Europe/Berlin")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, console: Console, email: str, password: str = AGENT_PASSWORD) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for_selector("#lane-waiting")
    page.wait_for_load_state("load")  # the page's scripts have run (relative times, live queue)


def open_handoff(console: Console, conversation: str, reason: str, detail: str, channel: str,
                 customer_id: int | None = None, last_message: str = "") -> int:
    sessions = console.sessions()
    return HandoffDesk(sessions).open_handoff(conversation, reason, detail, channel=channel,
                                              customer_id=customer_id, last_message=last_message).id


def add_customer(console: Console, name: str, email: str) -> int:
    from datetime import datetime

    with console.sessions().begin() as s:
        customer = Customer(email=email, name=name, country="United Kingdom", address="1 High St",
                            created_at=datetime.now())
        s.add(customer)
        s.flush()
        return customer.id


def test_login_page_passes_axe(new_page: Any, console: Console) -> None:
    page = new_page()
    page.goto(f"{console.url}/login")
    assert axe_problems(page) == []


def test_queue_cards_speak_words_not_ids(new_page: Any, console: Console) -> None:
    jane = add_customer(console, "Jane Cardholder", "jane.cards@example.com")
    open_handoff(console, "card-jane", "requested", "asked for a person (contact_human_agent)", "socketio", jane,
                 "can I talk to someone please")
    page = new_page()
    sign_in(page, console, AGENT)
    card = page.locator(".handoff[data-conversation='card-jane']")
    text = card.inner_text()
    assert "Jane Cardholder" in text and "Asked for a person" in text and "Talk to a person" in text
    assert "Web chat" in text and re.search(r"just now|\d+ min ago", text), text
    assert "socketio" not in text and "contact_human_agent" not in text and "requested" not in text
    assert card.locator("time").get_attribute("title")  # the local date and time on hover
    # A new handoff arrives live (queue.js draws it): same words, for a visitor nobody verified.
    open_handoff(console, "card-visitor", "misses", "two messages in a row the assistant could not understand",
                 "shopdesk_rest", None, "asdf qwer")
    live = page.locator(".handoff[data-conversation='card-visitor']")
    live.wait_for()
    text = live.inner_text()
    assert "Visitor (not verified)" in text and "The assistant did not understand" in text
    assert "REST API" in text and "shopdesk_rest" not in text and re.search(r"just now|\d+ min ago", text)
    shot(page, "01-queue")
    assert axe_problems(page) == []


def test_transcript_opens_at_the_newest_message_and_follows(new_page: Any, console: Console) -> None:
    events = [user_event("hello", "greet"), bot_event(MARKDOWN), user_event(CUSTOMER_HTML, "nlu_fallback", 0.3)]
    for n in range(30):
        events += [user_event(f"question number {n}", "product_info"), bot_event(f"answer number {n}")]
    console.rasa.trackers["long-talk"] = events
    handoff = open_handoff(console, "long-talk", "requested", "asked for a person (contact_human_agent)",
                           "socketio")
    page = new_page()
    sign_in(page, console, AGENT)
    page.goto(f"{console.url}/conversations/{handoff}")
    transcript = page.locator("#transcript")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 5"
    assert transcript.evaluate("el => el.scrollHeight > el.clientHeight + 200")  # it does scroll
    assert transcript.evaluate(at_bottom), "the transcript did not open at the newest message"
    assert page.locator("#transcript .msg").last.inner_text().startswith("assistant")
    # The assistant's Markdown is drawn; the customer's text stays text.
    bot = page.locator("#transcript .msg.bot").first
    assert bot.locator("strong").inner_text() == "Order 581142" and bot.locator("li").count() == 2
    assert bot.locator("a").get_attribute("href") == "https://carrier.example/t/1"
    customer = page.locator("#transcript .msg.customer .text").nth(1)
    assert customer.text_content() == CUSTOMER_HTML
    assert page.locator("#transcript .customer .text *, #transcript img").count() == 0
    assert page.evaluate("() => window.__xss") is None

    # A new message arrives while the agent is at the bottom: the view follows it.
    console.rasa.trackers["long-talk"].append(user_event("a brand new message", "track_order"))
    page.wait_for_function("() => document.querySelector('#transcript').innerText.includes('a brand new message')")
    assert transcript.evaluate(at_bottom)
    # Reading older messages: a new one does not yank the view; a button offers to jump.
    transcript.evaluate("el => { el.scrollTop = 0; }")
    console.rasa.trackers["long-talk"].append(user_event("one more while you read", "track_order"))
    page.wait_for_selector("#jump-latest:not([hidden])")
    assert transcript.evaluate("el => el.scrollTop") == 0
    page.click("#jump-latest")
    assert transcript.evaluate(at_bottom) and page.locator("#jump-latest").is_hidden()
    # Keyboard: the transcript takes focus with Tab and scrolls with the arrow keys.
    page.focus("a.brand")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "transcript":
            break
    assert page.evaluate("() => document.activeElement.id") == "transcript"
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('#transcript').scrollTop === 0")
    shot(page, "02-conversation")
    assert axe_problems(page) == []


def test_an_unreachable_rasa_is_said_as_such(new_page: Any, console: Console) -> None:
    console.rasa.trackers["slow-talk"] = [user_event("hello", "greet")]
    handoff = open_handoff(console, "slow-talk", "requested", "asked for a person (contact_human_agent)", "socketio")
    page = new_page()
    sign_in(page, console, AGENT)
    console.rasa.hang = 2.5  # longer than the console waits (SHOPDESK_RASA_TIMEOUT_S=1)
    try:
        page.goto(f"{console.url}/conversations/{handoff}")
        assert page.inner_text("#bot-state") == "unknown (assistant unreachable)"
        assert "unreachable: no answer within 1 s" in page.inner_text("#rasa-problem")
        assert "cannot be shown: the assistant server is unreachable" in page.inner_text("#transcript")
        assert "answering" not in page.inner_text(".conversation-head")
        shot(page, "03-rasa-unreachable")
    finally:
        console.rasa.hang = 0.0
    # Once Rasa answers again, the live view shows the conversation without a reload.
    page.wait_for_function("() => document.querySelector('#bot-state').textContent === 'answering'")
    assert page.is_hidden("#rasa-problem") and "hello" in page.inner_text("#transcript")


def test_training_inbox_preselects_nothing_and_asks_before_big_steps(new_page: Any, console: Console) -> None:
    tracker = console.tracker
    tracker.start("web-fallback")
    key = tracker.user("web-fallback", "where is the thing I bought", "nlu_fallback", 0.31, channel="socketio",
                       ranking=[("nlu_fallback", 0.31), ("track_order", 0.27), ("nlu_fallback", 0.2),
                                ("cancel_order", 0.18), ("greet", 0.05), ("affirm", 0.01)])
    tracker.bot_turn("web-fallback", "utter_default", "Sorry, I didn't get that.")
    for name in ("old.tar.gz", "baseline.tar.gz"):
        (console.models_dir / name).write_bytes(b"not really a model")
    registry = ModelRegistry(console.sessions(), console.models_dir)
    registry.register(console.models_dir / "old.tar.gz", ModelStatus.PROMOTED, note="an earlier model")
    time.sleep(0.01)
    baseline = registry.register(console.models_dir / "baseline.tar.gz", ModelStatus.PROMOTED,
                                 note="baseline: the model found in models/")

    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, console, ADMIN)
    page.click("#nav-training")
    item = page.locator(f".review-item[data-key='web-fallback:{key}']")
    form = item.locator("form.annotate")
    assert form.locator("select[name=intent]").input_value() == ""  # no preselected intent (was "affirm")
    assert form.locator(".entity-type").input_value() == ""  # no default entity type
    picks = form.locator(".pick-intent").all_inner_texts()
    assert picks == ["track_order (0.27)", "cancel_order (0.18)", "greet (0.05)"]  # top 3, no nlu_fallback
    assert page.locator("#bulk-form select[name=intent]").input_value() == ""
    assert axe_problems(page) == []
    shot(page, "04-inbox")

    # Saving without choosing stores nothing and says why.
    form.locator("button[name=verdict][value=label]").click()
    assert "Choose an intent first" in page.inner_text(".flash.error")
    with Session(make_engine(console.database_url)) as s:
        assert s.query(Annotation).count() == 0
    # Marking text needs an entity type.
    item = page.locator(f".review-item[data-key='web-fallback:{key}']")
    item.locator(".review-text").evaluate("""el => { const r = document.createRange();
        r.selectNodeContents(el); const s = getSelection(); s.removeAllRanges(); s.addRange(r); }""")
    item.locator(".mark-entity").click()
    assert item.locator(".entity-hint").inner_text() == "Choose an entity type first."
    assert item.locator("mark").count() == 0
    # A prediction is one click to choose, and a second to save.
    item.locator(".pick-intent", has_text="track_order").click()
    assert item.locator("select[name=intent]").input_value() == "track_order"
    item.locator("button[name=verdict][value=label]").click()
    assert page.inner_text(".flash.ok") == "Saved."
    with Session(make_engine(console.database_url)) as s:
        assert [(a.intent, a.predicted_intent) for a in s.query(Annotation)] == [("track_order", "nlu_fallback")]

    # Export, retrain and rollback each ask first; cancelling changes nothing.
    page.click("#export")
    assert page.inner_text("h1") == "Export the annotations?" and "1 reviewed message(s)" in page.inner_text("main")
    shot(page, "05-confirm-export")
    assert axe_problems(page) == []
    page.click("#cancel")
    page.wait_for_selector(".review-list, .empty")
    with Session(make_engine(console.database_url)) as s:
        assert [a.exported_at for a in s.query(Annotation)] == [None]  # nothing was exported
    page.goto(f"{console.url}/training/models")
    assert axe_problems(page) == []
    page.click("#retrain")
    assert page.inner_text("h1") == "Retrain and evaluate a candidate model?"
    assert "baseline.tar.gz" in page.inner_text("main")
    page.click("#cancel")
    page.goto(f"{console.url}/training/models")
    assert "No training jobs yet." in page.inner_text("main")
    page.click("#rollback")
    assert page.inner_text("h1") == "Roll back to the previous model?"
    assert "serves old.tar.gz" in page.inner_text("main")
    page.click("#cancel")
    assert registry.current().id == baseline.id  # type: ignore[union-attr]
    assert dialogs == []

    # The baseline's page says what it is instead of being empty.
    page.goto(f"{console.url}/training/models/{baseline.id}")
    text = page.inner_text("#baseline")
    assert "This is the baseline" in text and "Not evaluated yet" in text and "baseline.tar.gz" in text
    shot(page, "06-baseline")
    assert axe_problems(page) == []


def test_admin_manages_agents_and_canned_replies(new_page: Any, console: Console) -> None:
    bob = new_page()
    sign_in(bob, console, "bob.agent@shop.example")
    assert bob.locator("#nav-agents").count() == 0
    assert bob.goto(f"{console.url}/admin/agents").status == 403

    page = new_page()
    sign_in(page, console, ADMIN)
    page.click("#nav-agents")
    assert axe_problems(page) == []
    row = page.locator("tr[data-agent='bob.agent@shop.example']")
    # The last active admin cannot lock the console out.
    page.locator(f"tr[data-agent='{ADMIN}'] button.disable").click()
    assert "last active admin" in page.inner_text(".flash.error")
    page.locator(f"tr[data-agent='{ADMIN}'] select[name=role]").select_option("agent")
    page.locator(f"tr[data-agent='{ADMIN}'] button.change-role").click()
    assert "last active admin" in page.inner_text(".flash.error")
    # Disable Bob: his open console signs him out, and he cannot sign in.
    page.goto(f"{console.url}/admin/agents")
    row.locator("button.disable").click()
    assert "Bob is disabled and signed out everywhere." in page.inner_text(".flash.ok")
    assert row.locator(".status").inner_text() == "disabled"
    bob.goto(console.url)
    assert "/login" in bob.url
    bob.fill("input[name=email]", "bob.agent@shop.example")
    bob.fill("input[name=password]", AGENT_PASSWORD)
    bob.click("#sign-in")
    assert "Wrong email or password" in bob.inner_text(".flash.error")
    # Enable him with a new password, make him an admin.
    row.locator("button.enable").click()
    row.locator("button.reset-password").click()
    password = page.inner_text("#new-password")
    shot(page, "07-new-password")
    page.click("text=Back to the agents")
    row.locator("select[name=role]").select_option("admin")
    row.locator("button.change-role").click()
    assert "Bob is now an admin." in page.inner_text(".flash.ok")
    sign_in(bob, console, "bob.agent@shop.example", password)
    assert bob.locator("#nav-agents").count() == 1

    # Canned replies: edit one; agents get it in the conversation view.
    page.click("#nav-canned")
    assert axe_problems(page) == []
    first = page.locator(".canned-admin li").first
    first.locator("input[name=title]").fill("Warm hello")
    first.locator("textarea[name=text]").fill("Hello! I'm **here** to help.")
    first.locator("button.save").click()
    assert "Saved “Warm hello”." in page.inner_text(".flash.ok")
    handoff = open_handoff(console, "canned-talk", "requested", "asked for a person (contact_human_agent)",
                           "socketio")
    console.rasa.trackers["canned-talk"] = [user_event("hello there", "greet")]
    page.goto(f"{console.url}/conversations/{handoff}")
    page.click("#claim")
    page.click("button.canned:has-text('Warm hello')")
    assert page.input_value("#reply-text") == "Hello! I'm **here** to help."


def test_knowledge_base_suggestions_are_readable_and_relevant(new_page: Any, console: Console,
                                                              knowledge_dir: Path) -> None:
    """A second console with the demo shop's knowledge base: the question is the customer's last real one, the
    source sits on its own line and "Use in reply" is a button of its own that inserts only the passage."""
    stack = StackConfig(database_url=console.database_url, var_dir=console.models_dir.parent)
    group = start_console(stack, console.models_dir.parent, {
        "RASA_URL": console.rasa.url, "RASA_AUTH_TOKEN": RASA_TOKEN, "SHOPDESK_CONSOLE_KNOWLEDGE": "1",
        "SHOPDESK_KNOWLEDGE_DIR": str(knowledge_dir)})
    try:
        console.rasa.trackers["kb-talk"] = [user_event("how many days do I have to return an item?", "nlu_fallback"),
                                            user_event("can I talk to a person please", "contact_human_agent")]
        handoff = open_handoff(console, "kb-talk", "requested", "asked for a person (contact_human_agent)",
                               "socketio")
        page = new_page()
        sign_in(page, Console(group.url, console.database_url, console.rasa, console.tracker,  # type: ignore[attr-defined]
                              console.models_dir), AGENT)
        page.goto(f"{group.url}/conversations/{handoff}")  # type: ignore[attr-defined]
        page.click("#claim")
        first = page.locator("#suggestions .suggestion").first
        first.wait_for(timeout=120_000)  # the console loads the encoder on the first question
        assert page.inner_text("#suggestions-for") == "For “how many days do I have to return an item?”"
        assert "30 days" in page.inner_text("#suggestions")
        source, use = first.locator(".source"), first.locator("button.use")
        assert source.inner_text().startswith("Source: ") and use.inner_text() == "Use in reply"
        assert use.bounding_box()["y"] >= source.bounding_box()["y"] + source.bounding_box()["height"] - 1
        use.click()
        reply = page.input_value("#reply-text")
        assert reply == first.locator("p").first.text_content() and "Source" not in reply
        # The agent's own words; something the documents do not cover gets nothing.
        page.fill("#kb-search input", "who won the football world cup in 1998")
        page.click("#kb-search button")
        page.wait_for_function("() => document.querySelector('#suggestions-for').textContent.includes('1998')")
        assert page.locator("#suggestions .suggestion").count() == 0
        assert "No passage answers this closely enough." in page.inner_text("#suggestions")
        shot(page, "08-suggestions")
        assert axe_problems(page) == []
    finally:
        group.stop()
