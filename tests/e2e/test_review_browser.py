"""The review inbox of the training loop in a real browser: headless Debian Chromium (Playwright).

The agent console runs as its own process on a fresh store database, reading a tracker store written row by
row as Rasa's SQLTrackerStore writes it (tests/training/support.py), so no Rasa server is needed and the test
stays fast. An admin signs in, finds a misclassified message with its predicted intent and confidence,
changes the intent, marks an entity by selecting text with the mouse, saves, and the annotation lands in the
database with the right intent and character offsets (counted as Python counts them, emoji included).
Customer text that looks like HTML stays text. Screenshots go to tests/artifacts/review/ (git-ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.stack import PROJECT_ROOT, StackConfig
from store.db import make_engine
from tests.e2e.handoff_support import AGENT_PASSWORD, create_agent, start_console
from tests.e2e.test_widget_browser import browser  # noqa: F401  (fixture)
from tests.training.support import TrackerWriter
from training.tables import Annotation

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "review"
ADMIN_EMAIL = "rita.reviewer@shop.example"
TIMEOUT_MS = 20_000
# An emoji first: the browser counts it as two UTF-16 units, Python (and Rasa's training data) as one.
MISREAD = "😡 I need to cancel order 581142 before it ships"
XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script> is this safe?"


@dataclass
class Review:
    url: str
    database_url: str
    misread: str  # inbox keys: "<conversation id>:<events.id>"
    xss: str


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    """Console + fresh store (migrated by the create-user CLI) + a tracker store with three conversations."""
    var = tmp_path_factory.mktemp("review-var")
    database_url = f"sqlite:///{var / 'shop.db'}"
    tracker_url = f"sqlite:///{var / 'tracker.db'}"
    tracker = TrackerWriter(tracker_url)
    tracker.start("web-misread")
    misread = tracker.user("web-misread", MISREAD, "track_order", 0.41, channel="socketio")
    tracker.bot_turn("web-misread", "utter_ask_order_email", "What is the email address on that order?")
    tracker.start("web-xss")
    xss = tracker.user("web-xss", XSS, "greet", 0.52, channel="socketio")
    tracker.bot_turn("web-xss", "utter_greet", "Hello! How can I help?")
    tracker.start("web-fine")
    tracker.user("web-fine", "hello there", "greet", 0.99)
    tracker.bot_turn("web-fine", "utter_greet", "Hello! How can I help?")
    tracker.engine.dispose()

    create_agent(database_url, ADMIN_EMAIL, role="admin", name="Rita")
    stack = StackConfig(database_url=database_url, var_dir=var)  # nothing of it is started: no Rasa needed
    assert stack.env()["SHOPDESK_TRACKER_URL"] == tracker_url  # the console reads what Rasa would write
    console = start_console(stack, var)
    try:
        yield Review(console.url, database_url, f"web-misread:{misread}", f"web-xss:{xss}")  # type: ignore[attr-defined]
    finally:
        console.stop()


def select_text(page: Any, item: Any, needle: str, mouse: bool) -> None:
    """Select `needle` in the item's message: by dragging the mouse across it, or by setting a DOM Range."""
    script = """(el, [needle, mouse]) => {
      const node = [...el.childNodes].find((n) => n.nodeType === 3 && n.data.includes(needle));
      const start = node.data.indexOf(needle);
      const range = document.createRange();
      range.setStart(node, start);
      range.setEnd(node, start + needle.length);
      if (!mouse) {
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        return null;
      }
      const box = range.getBoundingClientRect();
      return {left: box.left, right: box.right, y: box.top + box.height / 2};
    }"""
    box = item.locator(".review-text").evaluate(script, [needle, mouse])
    if mouse:
        page.mouse.move(box["left"] + 1, box["y"])
        page.mouse.down()
        page.mouse.move(box["right"] - 1, box["y"], steps=5)
        page.mouse.up()
        assert needle in page.evaluate("() => String(window.getSelection())")


def stored(database_url: str) -> dict[tuple[str, int], Annotation]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            return {(a.conversation_id, a.event_id): a for a in s.scalars(select(Annotation))}
    finally:
        engine.dispose()


def test_admin_labels_a_misread_message_in_the_browser(browser: Any, review: Review) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(review.url)
        assert "/login" in page.url
        page.fill("input[name=email]", ADMIN_EMAIL)
        page.fill("input[name=password]", AGENT_PASSWORD)
        page.click("#sign-in")
        page.click("#nav-training")
        page.wait_for_selector(".review-list")
        shot(page, "01-inbox")

        # The misread message comes first (low confidence), with what the model made of it.
        items = page.locator(".review-item")
        assert items.first.get_attribute("data-key") == review.misread
        item = page.locator(f".review-item[data-key='{review.misread}']")
        assert item.locator(".review-text").text_content() == MISREAD
        nlu = item.locator(".nlu").inner_text()
        assert re.search(r"predicted track_order \(0\.41\)", nlu), nlu
        assert "low confidence" in item.locator(".review-head").inner_text()
        assert item.locator(".entity-tools").is_visible()  # review.js ran and showed the entity tools
        assert item.locator(".item-links form button").inner_text() == "Save as test story"  # not pushed out

        # Change the intent; mark a word by programmatic selection, then remove it by clicking its mark.
        item.locator("select[name=intent]").select_option("cancel_order")
        select_text(page, item, "ance", mouse=False)  # part of a word grows to the whole word
        item.locator(".entity-type").select_option("product")
        item.locator(".mark-entity").click()
        mark = item.locator("mark[data-entity=product]")
        assert mark.text_content() == "cancel"
        mark.click()
        assert item.locator("mark").count() == 0
        # The order number, selected with the mouse.
        select_text(page, item, "581142", mouse=True)
        item.locator(".entity-type").select_option("order_id")
        item.locator(".mark-entity").click()
        assert item.locator("mark[data-entity=order_id]").text_content() == "581142"
        assert item.locator(".review-text").text_content() == MISREAD  # marks keep the text as it was
        start = MISREAD.index("581142")  # Python's offsets: what Rasa's training data needs
        field = json.loads(item.locator(".entities-field").input_value())
        assert field == [{"start": start, "end": start + 6, "entity": "order_id"}]
        shot(page, "02-marked")
        item.locator("button[name=verdict][value=label]").click()
        page.wait_for_selector(".flash.ok")
        assert page.inner_text(".flash.ok") == "Saved."
        shot(page, "03-saved")

        # In the database: the intent, and offsets that cut the stored (redacted) text at the order number.
        conversation, event_id = review.misread.rsplit(":", 1)
        annotation = stored(review.database_url)[(conversation, int(event_id))]
        assert (annotation.verdict, annotation.intent, annotation.predicted_intent) == ("label", "cancel_order",
                                                                                        "track_order")
        assert annotation.text == MISREAD
        spans = json.loads(annotation.entities)
        assert spans == [{"start": start, "end": start + 6, "entity": "order_id"}]
        assert annotation.text[spans[0]["start"]:spans[0]["end"]] == "581142"

        # Reviewed messages leave the default inbox; "all" shows the stored label and mark again.
        assert page.locator(f".review-item[data-key='{review.misread}']").count() == 0
        page.goto(f"{review.url}/training/?status=all")
        item = page.locator(f".review-item[data-key='{review.misread}']")
        assert "reviewer says cancel_order" in item.locator(".review-head").inner_text()
        assert item.locator("mark[data-entity=order_id]").text_content() == "581142"
        assert item.locator("select[name=intent]").input_value() == "cancel_order"

        # Customer text that looks like HTML is shown as text: no element, no script, no dialog.
        xss = page.locator(f".review-item[data-key='{review.xss}']")
        assert xss.locator(".review-text").text_content() == XSS
        assert page.locator(".review-list img, .review-list script").count() == 0
        page.wait_for_timeout(500)  # an onerror handler would have fired by now
        shot(page, "04-all-with-html-looking-text")
        assert dialogs == [], f"a dialog fired: {dialogs}"
        assert not errors, f"JavaScript errors: {errors}"
    finally:
        context.close()
