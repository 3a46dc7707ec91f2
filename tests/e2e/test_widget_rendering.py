"""The widget in a real browser without a bot: safe Markdown, theming on any page, the error state.

Headless Debian Chromium (Playwright) against the real web app (in a thread, temp store); Rasa is
deliberately unreachable. Fast: no model, no Rasa. Screenshots go to tests/artifacts/widget/.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from runtime.processes import free_port
from store.db import make_engine
from store.migrate import upgrade_database
from store.seed import seed
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "widget"
FIXTURE = ROOT / "tests" / "fixtures" / "online_retail_tiny.csv"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from web.vendor import vendor

    vendor()
    tmp = tmp_path_factory.mktemp("widget-render")
    url = f"sqlite:///{tmp / 'shop.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, return_share=0.0)
    engine.dispose()
    app = create_app({
        "SECRET_KEY": "flask-secret-for-tests-0123456789", "SHOPDESK_DATABASE_URL": url,
        "SHOPDESK_RASA_URL": f"http://127.0.0.1:{free_port()}", "SHOPDESK_RASA_AUTH_TOKEN": "x",
        "SHOPDESK_RASA_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",      # nothing listens there
        "SHOPDESK_SIGNING_KEY": "signing-key-for-tests-0123456789", "SHOPDESK_UPLOAD_DIR": str(tmp / "uploads"),
        "SHOPDESK_MODE": "demo",                                             # the storefront's pages
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 760})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def wait_until(page: Any, expression: str, timeout_s: float = 15) -> None:
    """Poll an expression (wait_for_function uses eval, which our pages' CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def host_page(page: Any, web_url: str, script_attributes: str, head: str = "") -> None:
    """A shop page of our own (same origin as the web app) embedding the widget with one tag."""
    html = (f"<!doctype html><html><head>{head}</head><body><h1>Any shop page</h1>"
            f'<script src="/widget/shopdesk.js" {script_attributes}></script></body></html>')
    page.route(f"{web_url}/any-page", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(f"{web_url}/any-page")
    page.wait_for_selector("[data-testid=shopdesk-launcher]")


def render(page: Any, text: str) -> dict:
    script = "t => { const n = ShopDesk.renderMarkdown(t); return {html: n.innerHTML, text: n.innerText}; }"
    return page.evaluate(script, text)


MARKDOWN_CASES = [
    ("**bold**, *italic* and `code`", "<p><strong>bold</strong>, <em>italic</em> and <code>code</code></p>"),
    ("Your orders:\n- **581585**: shipped\n- 579194", "<p>Your orders:</p><ul><li><strong>581585</strong>: shipped"
                                                      "</li><li>579194</li></ul>"),
    ("1. first\n2. second", "<ol><li>first</li><li>second</li></ol>"),
    ("line one\nline two\n\nnext paragraph", "<p>line one<br>line two</p><p>next paragraph</p>"),
    ("<script>alert(1)</script><img src=x onerror=alert(1)>",
     "<p>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</p>"),
    ("window.__xss=1 and snake_case_name", "<p>window.__xss=1 and snake_case_name</p>"),
    ("[bad](javascript:alert(1)) and [worse](data:text/html,x)",
     "<p>[bad](javascript:alert(1)) and [worse](data:text/html,x)</p>"),
]


@pytest.mark.parametrize("text, html", MARKDOWN_CASES)
def test_safe_markdown(page: Any, web_url: str, text: str, html: str) -> None:
    page.goto(web_url)
    wait_until(page, "window.ShopDesk && !!window.ShopDesk.renderMarkdown")
    assert render(page, text)["html"] == html


def test_links_open_safely(page: Any, web_url: str) -> None:
    page.goto(web_url)
    wait_until(page, "window.ShopDesk && !!window.ShopDesk.renderMarkdown")
    html = render(page, "See [our policy](https://shop.example/returns) or https://shop.example/help.")["html"]
    assert html == ('<p>See <a href="https://shop.example/returns" target="_blank" rel="noopener noreferrer nofollow">'
                    'our policy</a> or <a href="https://shop.example/help" target="_blank" '
                    'rel="noopener noreferrer nofollow">https://shop.example/help</a>.</p>')


def test_theming_and_language_from_the_script_tag(page: Any, web_url: str) -> None:
    host_page(page, web_url, 'data-title="Help desk" data-primary-color="#123456" data-position="left" '
                             'data-lang="zh" data-strings=\'{"send": "Go"}\'')
    launcher = page.locator("[data-testid=shopdesk-launcher]")
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(18, 52, 86)"
    assert launcher.bounding_box()["x"] < 100                               # bottom-left corner
    assert launcher.get_attribute("aria-label") == "打开聊天"
    launcher.click()
    assert page.locator(".sd-title").inner_text() == "Help desk"
    assert page.locator("[data-testid=shopdesk-input]").get_attribute("placeholder") == "请输入消息…"
    assert page.locator("[data-testid=shopdesk-send]").get_attribute("aria-label") == "Go"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "20-themed-left-zh.png"))


def test_theming_from_the_pages_css_variables(page: Any, web_url: str) -> None:
    host_page(page, web_url, "", head="<style>:root { --shopdesk-primary: rgb(1, 2, 3); }</style>")
    launcher = page.locator("[data-testid=shopdesk-launcher]")
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(1, 2, 3)"


def test_unreachable_assistant_shows_an_error_and_queues_messages(page: Any, web_url: str) -> None:
    page.goto(web_url)
    page.click("[data-testid=shopdesk-launcher]")
    page.fill("[data-testid=shopdesk-input]", "are you there?")
    page.keyboard.press("Enter")
    page.wait_for_selector(".sd-pending")
    assert "Queued" in page.locator(".sd-pending .sd-delivery").inner_text()
    page.wait_for_selector("#shopdesk-widget[data-connection=unreachable]", state="attached", timeout=30_000)
    assert "Can't reach the assistant" in page.locator(".sd-status").inner_text()
    assert page.locator(".sd-alert [role=alert], .sd-alert").first.is_visible()
    assert page.locator(".sd-alert-action").inner_text() == "Retry now"
    assert page.evaluate("window.ShopDesk.state().outbox") == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "21-unreachable.png"))
    page.reload()                                      # the queued message survives a reload
    wait_until(page, "window.ShopDesk && window.ShopDesk.state().outbox === 1")
    page.evaluate("window.ShopDesk.open()")
    assert page.locator(".sd-pending").count() == 1
