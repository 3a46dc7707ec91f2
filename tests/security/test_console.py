"""The agent console attacked as a real process: open redirects and header injection through `?next=`, finding
out which agent emails exist, locking an agent out by failing on purpose, and cookies minted with another
app's key.

`console_app` (tests/security/conftest.py) is the console as shipped: it ignores X-Forwarded-For. To play two
clients from one machine, this module also starts a console that trusts 127.0.0.1 as its proxy
(SHOPDESK_TRUSTED_PROXIES), so X-Forwarded-For names the client. Both share the stack's store database, where
sign-in failures are counted (store.security); the tests against `console_app` fail at most twice from
127.0.0.1, far below the per-client limit, so other modules can still sign in.
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.login_throttle import CLIENT_LIMIT, PAIR_LIMIT, SCOPE, WINDOW, login_keys
from runtime.processes import ProcessGroup
from runtime.stack import StackConfig
from store.db import make_engine
from store.models import Customer
from store.security import recent_failures
from tests.e2e.handoff_support import AGENT_PASSWORD, create_agent, start_console

pytestmark = pytest.mark.slow

CONSOLE_COOKIE = "shopdesk_console"
WEB_COOKIE = "shopdesk_session"


@pytest.fixture(scope="module")
def agent_email(shop_stack: StackConfig) -> str:
    """A real agent account, created through the console's CLI."""
    email = f"sec-agent-{uuid.uuid4().hex[:8]}@shop.example"
    create_agent(shop_stack.env()["SHOPDESK_DATABASE_URL"], email, name="Security Agent")
    return email


@pytest.fixture(scope="module")
def proxied_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxied-console")


@pytest.fixture(scope="module")
def proxied_console(shop_stack: StackConfig, proxied_log_dir: Path) -> Iterator[str]:
    """A console behind a 'proxy' on 127.0.0.1: X-Forwarded-For tells it which client a request is from."""
    group: ProcessGroup = start_console(shop_stack, proxied_log_dir, {"SHOPDESK_TRUSTED_PROXIES": "127.0.0.1, ::1"})
    yield group.url  # type: ignore[attr-defined]
    group.stop()


class Browser:
    """One client: its own cookies, and (behind the trusted proxy) its own address."""

    def __init__(self, base: str, address: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        if address:
            self.http.headers["X-Forwarded-For"] = address

    def csrf(self, path: str = "/login") -> str:
        page = self.http.get(self.base + path, allow_redirects=False, timeout=30)
        assert page.status_code == 200, page.status_code
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the login page"
        return match.group(1)

    def sign_in(self, email: str, password: str, query: str = "") -> requests.Response:
        token = self.csrf("/login" + query)
        return self.http.post(f"{self.base}/login{query}", allow_redirects=False, timeout=30,
                              data={"email": email, "password": password, "csrf_token": token})


def without_tokens(html: str, email: str) -> str:
    """A page without what differs between any two sessions (CSRF token) and the email the form echoes."""
    return re.sub(r'(name="csrf[-_]token"[^>]*(?:content|value)=")[^"]+"', r"\1-", html).replace(email, "EMAIL")


# ---- ?next= --------------------------------------------------------------------------------------------------

OFF_SITE = ["//evil.example", "/%09/evil.example", "/%0A/evil.example", "/%0D/evil.example", "/%5Cevil.example",
            "/%5C%5Cevil.example", "%5C%5Cevil.example", "https://evil.example/", "https:evil.example",
            "///evil.example", "/%E2%80%A8/evil.example", "%09//evil.example", "/%00/evil.example",
            "/%0D%0ALocation:%20https://evil.example", "/%0D%0ASet-Cookie:%20pwned=1"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site_nor_breaks_on_control_characters(console_app: Any, agent_email: str,
                                                                           target: str) -> None:
    browser = Browser(console_app.url)
    page = browser.http.get(f"{console_app.url}/login?next={target}", allow_redirects=False, timeout=30)
    assert page.status_code == 200
    response = browser.sign_in(agent_email, AGENT_PASSWORD, f"?next={target}")
    assert response.status_code == 302 and response.headers["Location"] == "/", response.headers.get("Location")
    assert "pwned" not in str(response.headers) and "evil" not in str(response.headers)
    assert browser.http.get(console_app.url + "/", allow_redirects=False, timeout=30).status_code == 200


def test_sign_in_follows_a_same_site_next(console_app: Any, agent_email: str) -> None:
    response = Browser(console_app.url).sign_in(agent_email, AGENT_PASSWORD, "?next=/review%3Fpage%3D2")
    assert response.status_code == 302 and response.headers["Location"] == "/review?page=2"


def test_an_anonymous_request_is_sent_to_sign_in_with_its_own_path(console_app: Any) -> None:
    response = requests.get(console_app.url + "/conversations/1", allow_redirects=False, timeout=30)
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302 and location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/conversations/1"]}


# ---- which emails are agents ----------------------------------------------------------------------------------

def test_unknown_and_known_emails_get_the_same_answer(console_app: Any, agent_email: str) -> None:
    """One wrong password for a real agent, one for an address that is nobody's: the same status and page."""
    answers = []
    for email in (agent_email, f"nobody-{uuid.uuid4().hex[:8]}@shop.example"):
        response = Browser(console_app.url).sign_in(email, "not-the-password-123")
        answers.append((response.status_code, without_tokens(response.text, email)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401 and "Wrong email or password." in answers[0][1]


def test_unknown_and_known_emails_are_throttled_alike(proxied_console: str, agent_email: str) -> None:
    def answers(email: str, address: str) -> list[tuple[int, str]]:
        browser = Browser(proxied_console, address)
        return [(r.status_code, without_tokens(r.text, email))
                for r in (browser.sign_in(email, "not-the-password-123") for _ in range(PAIR_LIMIT + 1))]

    known = answers(agent_email, "203.0.113.61")
    unknown = answers(f"nobody-{uuid.uuid4().hex[:8]}@shop.example", "203.0.113.62")
    assert known == unknown
    assert [status for status, _ in known] == [401] * PAIR_LIMIT + [429]


def test_a_wrong_email_costs_as_long_as_a_wrong_password(proxied_console: str, agent_email: str) -> None:
    """The password hash runs for unknown accounts too (against a dummy hash): timing tells nothing."""
    def timings(email: str, subnet: int) -> list[float]:
        spent = []
        for i in range(4):
            browser = Browser(proxied_console, f"198.18.{subnet}.{i + 1}")
            token = browser.csrf()
            started = time.perf_counter()
            response = browser.http.post(proxied_console + "/login", allow_redirects=False, timeout=30,
                                         data={"email": email, "password": "not-the-password-123",
                                               "csrf_token": token})
            spent.append(time.perf_counter() - started)
            assert response.status_code == 401
        return spent

    known = statistics.median(timings(agent_email, 1))
    unknown = statistics.median(timings(f"nobody-{uuid.uuid4().hex[:8]}@shop.example", 2))
    assert unknown > 0.5 * known and known > 0.5 * unknown, (known, unknown)


# ---- locking agents out ---------------------------------------------------------------------------------------

def test_an_attacker_failing_on_purpose_cannot_lock_the_agent_out(proxied_console: str, agent_email: str) -> None:
    attacker = Browser(proxied_console, "203.0.113.66")
    for _ in range(PAIR_LIMIT):
        assert attacker.sign_in(agent_email, "guess-guess-guess").status_code == 401
    stopped = attacker.sign_in(agent_email, AGENT_PASSWORD)  # stopped before the password is even checked
    assert stopped.status_code == 429 and "Too many sign-in attempts" in stopped.text
    assert attacker.http.get(proxied_console + "/", allow_redirects=False, timeout=30).status_code == 302

    agent = Browser(proxied_console, "198.51.100.66")
    response = agent.sign_in(agent_email, AGENT_PASSWORD)
    assert response.status_code == 302
    assert agent.http.get(proxied_console + "/", allow_redirects=False, timeout=30).status_code == 200


def test_a_client_guessing_many_accounts_is_stopped_for_all_of_them(proxied_console: str,
                                                                    agent_email: str) -> None:
    attacker = Browser(proxied_console, "203.0.113.67")
    for i in range(CLIENT_LIMIT):
        assert attacker.sign_in(f"guess-{i}@shop.example", "guess-guess-guess").status_code == 401
    assert attacker.sign_in(agent_email, AGENT_PASSWORD).status_code == 429
    assert Browser(proxied_console, "198.51.100.67").sign_in(agent_email, AGENT_PASSWORD).status_code == 302


def test_without_a_trusted_proxy_forwarded_for_is_ignored(console_app: Any, shop_stack: StackConfig) -> None:
    """The shipped console keys on the connection: a client cannot pick a fresh address for each guess."""
    email = f"nobody-{uuid.uuid4().hex[:8]}@shop.example"
    response = Browser(console_app.url, "192.0.2.250").sign_in(email, "guess-guess-guess")
    assert response.status_code == 401
    engine = make_engine(shop_stack.env()["SHOPDESK_DATABASE_URL"])
    with Session(engine) as s:
        as_connection = recent_failures(s, SCOPE, [login_keys(email, "127.0.0.1").pair], WINDOW)
        as_claimed = recent_failures(s, SCOPE, [login_keys(email, "192.0.2.250").pair], WINDOW)
    engine.dispose()
    assert (as_connection, as_claimed) == (1, 0)


# ---- cookies of the other app -----------------------------------------------------------------------------------

def _serializer(secret: str) -> Any:
    app = Flask("cookie-forge")
    app.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(app)


def test_a_session_signed_with_the_web_apps_key_is_no_console_session(console_app: Any, agent_email: str,
                                                                      shop_stack: StackConfig) -> None:
    env = shop_stack.env()
    console_key, web_key = env["SHOPDESK_CONSOLE_SECRET_KEY"], env["FLASK_SECRET_KEY"]
    assert console_key != web_key
    browser = Browser(console_app.url)
    assert browser.sign_in(agent_email, AGENT_PASSWORD).status_code == 302
    session = _serializer(console_key).loads(browser.http.cookies[CONSOLE_COOKIE])
    assert session.get("_user_id")

    def home_with(cookie: str) -> int:
        return requests.get(console_app.url + "/", cookies={CONSOLE_COOKIE: cookie}, allow_redirects=False,
                            timeout=30).status_code

    assert home_with(_serializer(console_key).dumps(session)) == 200  # the forgery itself is sound
    assert home_with(_serializer(web_key).dumps(session)) == 302      # the web app's key mints nothing here


def test_a_session_signed_with_the_consoles_key_is_no_web_session(web_app: Any, shop_stack: StackConfig) -> None:
    env = shop_stack.env()
    engine = make_engine(env["SHOPDESK_DATABASE_URL"])
    with Session(engine) as s:
        customer_id = s.scalar(select(Customer.id).order_by(Customer.id))
    engine.dispose()
    signed_in = {"customer_id": customer_id}

    def customer_with(secret: str) -> Any:
        cookie = _serializer(secret).dumps(signed_in)
        response = requests.get(web_app.url + "/api/session", cookies={WEB_COOKIE: cookie}, timeout=30)
        assert response.status_code == 200
        return response.json()["customer"]

    assert customer_with(env["FLASK_SECRET_KEY"]) is not None        # the forgery itself is sound
    assert customer_with(env["SHOPDESK_CONSOLE_SECRET_KEY"]) is None  # the console's key signs in no shopper


def test_the_consoles_logged_no_server_error(console_app: Any, proxied_console: str, proxied_log_dir: Path) -> None:
    for log_path in (Path(console_app.log_path), proxied_log_dir / "console.log"):
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log and '" 500 ' not in log, log_path
