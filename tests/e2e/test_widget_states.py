"""The widget's own states in a real browser, without a bot: greeting, nothing typed lost, honest failures,
confirming "+", phone sizes (focus, zoom, full screen), images staged before sending, and axe-core.

Headless Debian Chromium (Playwright) against the real web app (in a thread, temp store, as in
test_widget_rendering.py); Rasa is deliberately unreachable, so messages stay queued. A failing
/api/session is simulated with Playwright's request routing (the one thing a live web app won't do on
demand). Screenshots at desktop, phone and landscape sizes go to tests/artifacts/widget/ (git-ignored).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.axe import assert_no_serious_findings
from tests.e2e.test_widget_rendering import ARTIFACTS, browser, host_page, page, wait_until, web_url  # noqa: F401

pytestmark = pytest.mark.slow

ROOT_JS = "document.querySelector('#shopdesk-widget').shadowRoot"
# A 2×2 red PNG.
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5"
           "ErkJggg==")
SIZES = {"desktop": (1280, 860), "phone": (390, 844), "small-phone": (320, 568), "landscape": (844, 390)}


def shot(page: Any, name: str) -> None:  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def active_testid(page: Any) -> str | None:  # noqa: F811
    return page.evaluate("() => { const a = document.querySelector('#shopdesk-widget').shadowRoot.activeElement;"
                         " return a ? (a.dataset.testid || a.tagName) : null; }")


def open_panel(page: Any) -> None:  # noqa: F811
    page.click("[data-testid=shopdesk-launcher]")
    page.wait_for_selector("[data-testid=shopdesk-panel]", state="visible")


def type_and_send(page: Any, text: str) -> None:  # noqa: F811
    page.fill("[data-testid=shopdesk-input]", text)
    page.keyboard.press("Enter")


def test_an_empty_chat_opens_with_the_shops_welcome_and_starters(page: Any, web_url: str) -> None:  # noqa: F811
    page.goto(web_url)
    open_panel(page)
    welcome = page.locator("[data-testid=shopdesk-welcome]")
    welcome.wait_for()
    assert "I'm Robin, the ShopDesk Demo Shop assistant" in welcome.inner_text()
    starters = welcome.locator("[data-testid=shopdesk-quick-reply]")
    assert starters.all_inner_texts() == ["Where is my order?", "Return something", "Gift ideas", "Talk to a person"]
    assert page.locator("[data-testid=shopdesk-launcher]").get_attribute("aria-label") == "Close chat"
    shot(page, "30-welcome-desktop")
    assert_no_serious_findings(page, "welcome")

    # A starter is sent like a quick reply (its title shown, its payload queued for the bot).
    starters.first.click()
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user').length === 1")
    assert page.locator(".sd-user .sd-md").inner_text() == "Where is my order?"
    assert starters.first.is_disabled()


def test_typed_text_survives_a_failing_session_and_retry_really_retries(page: Any, web_url: str  # noqa: F811
                                                                        ) -> None:
    calls = {"n": 0, "fail": True}

    def session(route: Any) -> None:
        calls["n"] += 1
        if calls["fail"]:
            route.fulfill(status=500, content_type="text/html", body="<h1>Internal Server Error</h1>")
        else:
            route.continue_()

    page.route(f"{web_url}/api/session", session)
    page.goto(web_url)
    page.evaluate("window.__samePage = true")
    open_panel(page)
    page.wait_for_selector("#shopdesk-widget[data-connection=unreachable]", state="attached")
    alert = page.locator("[data-testid=shopdesk-alert]")
    wait_until(page, f"{ROOT_JS}.querySelector('.sd-alert').innerText.includes('Trying again in')")
    text = alert.inner_text()
    assert "HTTP" not in text and "500" not in text and "Retrying" not in text
    assert "The chat service had a problem." in text and "kept" in text

    # What the shopper writes meanwhile is kept: shown as queued, in the outbox, and a draft survives a reload.
    type_and_send(page, "is my parcel lost?")
    page.wait_for_selector(".sd-pending")
    assert page.locator(".sd-pending .sd-delivery").inner_text() == "Queued"
    assert page.evaluate("window.ShopDesk.state().outbox") == 1
    page.fill("[data-testid=shopdesk-input]", "and one more thing")
    shot(page, "31-session-failing")

    # It really tries again by itself (2 s, then 4 s...), and "Retry now" asks at once, in the same page.
    wait_for_calls(page, calls, 2, 6)
    before = calls["n"]
    page.locator(".sd-alert-action").click()
    wait_for_calls(page, calls, before + 1, 1)
    assert page.evaluate("window.__samePage") is True

    # Back: the kept message joins the conversation the server gives; the draft is still in the box.
    calls["fail"] = False
    page.locator(".sd-alert-action").click()
    wait_until(page, "!!window.ShopDesk.state().conversationId")
    wait_until(page, "window.ShopDesk.state().outbox === 1")
    assert page.locator("[data-testid=shopdesk-input]").input_value() == "and one more thing"
    page.reload()
    page.evaluate("window.ShopDesk.open()")
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-pending').length === 1")
    assert "is my parcel lost?" in page.locator(".sd-pending").inner_text()
    assert page.locator("[data-testid=shopdesk-input]").input_value() == "and one more thing"


def wait_for_calls(page: Any, calls: dict, at_least: int, within_s: float) -> None:  # noqa: F811
    """Route handlers run while Playwright waits, so wait in the page's clock."""
    for _ in range(int(within_s * 10)):
        if calls["n"] >= at_least:
            return
        page.wait_for_timeout(100)
    assert calls["n"] >= at_least, calls


def test_new_conversation_asks_first(page: Any, web_url: str) -> None:  # noqa: F811
    page.goto(web_url)
    open_panel(page)
    wait_until(page, "!!window.ShopDesk.state().conversationId")
    first = page.evaluate("window.ShopDesk.state().conversationId")
    type_and_send(page, "hello")
    page.click("[data-testid=shopdesk-new]")
    confirm = page.locator("[data-testid=shopdesk-confirm]")
    assert confirm.is_visible() and "Start a new conversation?" in confirm.inner_text()
    assert active_testid(page) == "shopdesk-confirm-cancel"
    shot(page, "32-confirm-new")
    assert_no_serious_findings(page, "confirm new conversation")
    page.click("[data-testid=shopdesk-confirm-cancel]")
    assert not confirm.is_visible()
    assert page.evaluate("window.ShopDesk.state().conversationId") == first
    assert page.locator(".sd-user").count() == 1

    page.click("[data-testid=shopdesk-new]")
    page.keyboard.press("Escape")                       # Escape closes the question, not the chat
    assert not confirm.is_visible() and page.locator("[data-testid=shopdesk-panel]").is_visible()
    page.click("[data-testid=shopdesk-new]")
    page.click("[data-testid=shopdesk-confirm-new]")
    wait_until(page, f"window.ShopDesk.state().conversationId !== '{first}'")
    assert page.locator(".sd-user").count() == 0
    page.locator("[data-testid=shopdesk-welcome]").wait_for()


@pytest.mark.parametrize("size", ["phone", "small-phone", "landscape"])
def test_phone_sizes(browser: Any, web_url: str, size: str) -> None:  # noqa: F811
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True,
                                  locale="en-GB")
    page = context.new_page()  # noqa: F811
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(web_url)
        open_panel(page)
        page.locator("[data-testid=shopdesk-welcome]").wait_for()
        box = page.locator("[data-testid=shopdesk-panel]").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, width, height), box
        assert page.locator("[data-testid=shopdesk-panel]").get_attribute("aria-modal") == "true"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # No keyboard popping up over the panel on open; the message box won't make iOS zoom in.
        assert active_testid(page) == "shopdesk-panel"
        font = page.locator("[data-testid=shopdesk-input]").evaluate("n => parseFloat(getComputedStyle(n).fontSize)")
        assert font >= 16
        # Focus stays inside the full-screen panel, both ways round.
        inside = f"{ROOT_JS}.activeElement && {ROOT_JS}.querySelector('.sd-panel').contains({ROOT_JS}.activeElement)"
        for _ in range(14):
            page.keyboard.press("Tab")
            assert page.evaluate(inside), f"focus left the panel at {active_testid(page)}"
        for _ in range(14):
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(inside), f"focus left the panel at {active_testid(page)}"
        type_and_send(page, "hello from a phone")
        page.wait_for_selector(".sd-pending")
        shot(page, f"33-{size}")
        assert_no_serious_findings(page, size)
        page.keyboard.press("Escape")
        assert active_testid(page) == "shopdesk-launcher"
        assert not errors, errors
    finally:
        context.close()


def test_launcher_label_follows_the_state(page: Any, web_url: str) -> None:  # noqa: F811
    page.goto(web_url)
    launcher = page.locator("[data-testid=shopdesk-launcher]")
    assert launcher.get_attribute("aria-label") == "Open chat"
    wait_until(page, "!!window.ShopDesk.state().conversationId")
    key = page.evaluate("Object.keys(localStorage).find(k => k.endsWith(':conversation')).replace(/conversation$/, "
                        "'unread')")
    page.evaluate("k => localStorage.setItem(k, '1')", key)
    page.reload()
    assert launcher.get_attribute("aria-label") == "Open chat — 1 unread message"
    page.evaluate("k => localStorage.setItem(k, '3')", key)
    page.reload()
    assert launcher.get_attribute("aria-label") == "Open chat — 3 unread messages"
    assert_no_serious_findings(page, "closed with unread badge")
    launcher.click()
    assert launcher.get_attribute("aria-label") == "Close chat"


def paste_image(page: Any,  # noqa: F811
                target: str, event: str, name: str = "cracked-lid.png", kind: str = "image/png"
                ) -> None:
    """A real paste / drop event carrying a file (as the clipboard or a file manager would hand it over) on
    the message box (`target` "input") or the panel ("panel")."""
    page.evaluate("""([b64, target, event, name, kind]) => {
        const root = document.querySelector('#shopdesk-widget').shadowRoot;
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, {type: kind}));
        const node = root.querySelector(target === 'input' ? '[data-testid=shopdesk-input]' : '.sd-panel');
        const init = {bubbles: true, cancelable: true, composed: true};
        node.dispatchEvent(event === 'paste' ? new ClipboardEvent('paste', {...init, clipboardData: data})
                                             : new DragEvent(event, {...init, dataTransfer: data}));
    }""", [PNG_B64, target, event, name, kind])


def test_pasted_and_dropped_images_are_previewed_and_captioned_before_sending(page: Any, web_url: str  # noqa: F811
                                                                              ) -> None:
    page.goto(web_url)
    open_panel(page)
    wait_until(page, "!!window.ShopDesk.state().conversationId")
    paste_image(page, "input", "paste")
    staged = page.locator("[data-testid=shopdesk-staged]")
    staged.wait_for()
    assert "cracked-lid.png" in staged.inner_text()
    wait_until(page, f"{ROOT_JS}.querySelector('.sd-staged-image').naturalWidth === 2")
    assert page.locator("[data-testid=shopdesk-input]").get_attribute("placeholder") == "Add a caption (optional)"
    assert page.locator(".sd-user").count() == 0          # nothing sent yet
    page.fill("[data-testid=shopdesk-input]", "The lid arrived cracked")
    shot(page, "34-image-preview")
    assert_no_serious_findings(page, "image preview")

    # Removing it sends nothing; dropping one stages it again; Send uploads it with its caption.
    page.click("[data-testid=shopdesk-staged-remove]")
    assert not staged.is_visible() and page.locator(".sd-user").count() == 0
    paste_image(page, "panel", "drop")
    staged.wait_for()
    page.click("[data-testid=shopdesk-send]")
    wait_until(page, f"{ROOT_JS}.querySelectorAll('.sd-user img.sd-image').length === 1")
    row = page.locator(".sd-user").last
    assert row.locator(".sd-md").inner_text() == "The lid arrived cracked"
    assert not staged.is_visible()
    assert page.evaluate("window.ShopDesk.state().outbox") == 1
    wait_until(page, f"{ROOT_JS}.querySelector('.sd-user img.sd-image').complete")
    shot(page, "35-image-sent-with-caption")

    # A file that is no image is refused with a clear message and stages nothing.
    paste_image(page, "panel", "drop", name="notes.txt", kind="text/plain")
    assert "Only PNG, JPEG, WebP and GIF" in page.locator("[data-testid=shopdesk-alert]").inner_text()
    assert not staged.is_visible()


def test_the_desktop_panel_at_rest_has_no_serious_axe_findings(page: Any, web_url: str) -> None:  # noqa: F811
    page.goto(web_url)
    assert_no_serious_findings(page, "closed")
    open_panel(page)
    page.locator("[data-testid=shopdesk-welcome]").wait_for()
    type_and_send(page, "hello")
    page.wait_for_selector(".sd-pending")
    assert_no_serious_findings(page, "open, a queued message")



def test_the_opt_in_nudge_shows_once_on_the_chosen_pages(page: Any, web_url: str) -> None:  # noqa: F811
    host_page(page, web_url, 'data-nudge-after="1" data-nudge-pages="/any-page"')
    nudge = page.locator("[data-testid=shopdesk-nudge]")
    assert not nudge.is_visible()
    nudge.wait_for(timeout=5_000)
    assert nudge.inner_text().startswith("Questions? Robin can help.")
    shot(page, "36-nudge")
    assert_no_serious_findings(page, "nudge")
    page.click("[data-testid=shopdesk-nudge-open]")
    assert page.locator("[data-testid=shopdesk-panel]").is_visible() and not nudge.is_visible()
    page.evaluate("window.ShopDesk.close()")
    page.reload()                                          # once per browser session
    page.wait_for_timeout(1800)
    assert not nudge.is_visible()


def test_no_nudge_unless_the_shop_asks_for_one(page: Any, web_url: str) -> None:  # noqa: F811
    page.goto(web_url)
    page.wait_for_selector("[data-testid=shopdesk-launcher]")
    page.wait_for_timeout(1500)
    assert not page.locator("[data-testid=shopdesk-nudge]").is_visible()
    host_page(page, web_url, 'data-nudge-after="1" data-nudge-pages="/checkout"')   # not this page
    page.wait_for_timeout(1800)
    assert not page.locator("[data-testid=shopdesk-nudge]").is_visible()
