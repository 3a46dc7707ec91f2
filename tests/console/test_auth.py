"""Nothing in the console answers without login; forms and API calls need the CSRF token; the CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from console.login_throttle import CLIENT_LIMIT, PAIR_LIMIT
from console.users import authenticate
from tests.console.conftest import PASSWORD, csrf_from, login


def csrf_free(html: str) -> str:
    """A page without its per-session CSRF token (which differs between any two sessions)."""
    return re.sub(r'(name="csrf[-_]token"[^>]*(?:content|value)=")[^"]+"', r"\1-", html)


SAMPLE_ARGS = {"handoff_id": 1, "filename": "queue.js", "job_id": 1, "model_id": 1, "name": "f1",
               "conversation_id": "conv-auth", "agent_id": 1, "canned_id": 1}


def every_route(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(SAMPLE_ARGS[name]), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_every_route_needs_login(app, client, agents) -> None:
    checked = 0
    for endpoint, method, path in every_route(app):
        if endpoint == "auth.login":
            continue
        response = client.open(path, method=method)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.get_json() == {"error": "Please sign in."}
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], (method, path)
        checked += 1
    assert checked >= 15
    # The one public file is the login page's stylesheet; scripts are not public.
    assert client.get("/static/console.css").status_code == 200
    assert client.get("/static/conversation.js").status_code == 302


def test_every_page_answers_once_logged_in(app, client, agents, desk) -> None:
    handoff = desk.open_handoff("conv-auth", "requested")
    assert handoff.id == SAMPLE_ARGS["handoff_id"]
    login(client)
    for endpoint, method, path in every_route(app):
        if method == "GET" and endpoint != "auth.login":
            response = client.get(path)
            # training and management pages: admins only (test_review, test_admin)
            expected = 403 if endpoint.startswith(("review.", "admin.")) else 200
            assert response.status_code == expected, (path, response.status_code)
            response.close()


def test_login_logout_and_wrong_password(client, agents) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    bad = client.post("/login", data={"email": "alice@shop.example", "password": "nope-nope-nope",
                                      "csrf_token": token})
    assert bad.status_code == 401 and "Wrong email or password" in bad.get_data(as_text=True)
    assert client.get("/").status_code == 302
    csrf = login(client)
    page = client.get("/").get_data(as_text=True)
    assert "Alice" in page and "Waiting" in page
    # logging out needs the CSRF token too
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/").status_code == 302


def _attempt(client, email: str, password: str, token: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _client_from(app, address: str):  # type: ignore[no-untyped-def]
    """A test client whose requests come from `address` (the throttle keys on the client address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client, csrf_from(client.get("/login").get_data(as_text=True))


def test_a_client_guessing_one_account_is_stopped_but_the_agent_elsewhere_is_not(app, agents) -> None:
    attacker, token = _client_from(app, "203.0.113.9")
    for _ in range(PAIR_LIMIT):
        assert _attempt(attacker, "bob@shop.example", "guess-guess-guess", token).status_code == 401
    blocked = _attempt(attacker, "bob@shop.example", PASSWORD, token)  # even the right password is not checked
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.get_data(as_text=True)
    assert attacker.get("/").status_code == 302
    # Bob, from his own machine, signs in as usual: nobody can lock an agent out by failing on purpose.
    bob, bob_token = _client_from(app, "198.51.100.20")
    assert _attempt(bob, "bob@shop.example", PASSWORD, bob_token).status_code == 302
    # The attacker's other guesses still count against the attacker's own address.
    assert _attempt(attacker, "alice@shop.example", PASSWORD, token).status_code == 302


def test_a_client_guessing_many_accounts_is_stopped(app, agents) -> None:
    attacker, token = _client_from(app, "203.0.113.10")
    for i in range(CLIENT_LIMIT):
        assert _attempt(attacker, f"guess{i % 4}@shop.example", "guess-guess-guess", token).status_code == 401
    assert _attempt(attacker, "alice@shop.example", PASSWORD, token).status_code == 429
    alice, alice_token = _client_from(app, "198.51.100.21")
    assert _attempt(alice, "alice@shop.example", PASSWORD, alice_token).status_code == 302


def test_unknown_accounts_and_wrong_passwords_get_the_same_answers(app, agents) -> None:
    def answers(email: str, address: str) -> list[tuple[int, str]]:
        client, token = _client_from(app, address)
        seen = []
        for _ in range(PAIR_LIMIT + 1):
            response = _attempt(client, email, "guess-guess-guess", token)
            body = response.get_data(as_text=True).replace(email, "EMAIL")
            seen.append((response.status_code, csrf_free(body)))
        return seen

    known, unknown = answers("bob@shop.example", "203.0.113.11"), answers("nobody@shop.example", "203.0.113.12")
    assert known == unknown
    assert [status for status, _ in known] == [401] * PAIR_LIMIT + [429]


def test_agents_own_machine_is_never_slowed_by_a_distributed_attack(app, agents, sessions) -> None:
    """Many clients guessing one account slow it down for new clients, never for the agent's known client."""
    from console.login_throttle import EMAIL_SLOW_LIMIT, LoginKeys, is_blocked, login_keys, record_failed_login

    bob, bob_token = _client_from(app, "198.51.100.30")
    assert _attempt(bob, "bob@shop.example", PASSWORD, bob_token).status_code == 302  # a known client now
    with sessions.begin() as s:
        for i in range(EMAIL_SLOW_LIMIT):
            record_failed_login(s, login_keys("bob@shop.example", f"203.0.113.{100 + i}"))
    with sessions() as s:
        assert is_blocked(s, login_keys("bob@shop.example", "192.0.2.77"))  # a new client: wait a little
        assert not is_blocked(s, login_keys("bob@shop.example", "198.51.100.30"))
        assert not is_blocked(s, login_keys("alice@shop.example", "192.0.2.77"))
        assert isinstance(login_keys("a@b.example", "x"), LoginKeys)
    bob_again, token = _client_from(app, "198.51.100.30")
    assert _attempt(bob_again, "bob@shop.example", PASSWORD, token).status_code == 302


def test_failed_sign_ins_no_longer_touch_the_agent_row(app, agents, sessions) -> None:
    from console.models import Agent

    attacker, token = _client_from(app, "203.0.113.13")
    for _ in range(PAIR_LIMIT + 2):
        _attempt(attacker, "bob@shop.example", "guess-guess-guess", token)
    with sessions() as s:
        bob = s.get(Agent, agents["bob"].id)
        assert bob.locked_until is None and bob.failed_logins == 0
    assert authenticate(sessions, "bob@shop.example", PASSWORD, "198.51.100.22") is not None


def test_forwarded_for_counts_only_behind_a_trusted_proxy(store_url: str, fake_rasa, agents) -> None:
    from console import create_app
    from console.settings import parse_networks

    def app_with(proxies: str):  # type: ignore[no-untyped-def]
        return create_app({"TESTING": True, "SECRET_KEY": "flask-secret-for-console-tests-0123",
                           "SHOPDESK_DATABASE_URL": store_url, "SHOPDESK_RASA_URL": fake_rasa.url,
                           "CONSOLE_KNOWLEDGE": False, "CONSOLE_TRUSTED_PROXIES": parse_networks(proxies)})

    def seen_client(app, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
        from console.security import client_address

        with app.test_request_context("/login", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.5"}):
            return client_address()

    forwarded = {"X-Forwarded-For": "6.6.6.6, 192.0.2.1"}
    assert seen_client(app_with(""), forwarded) == "10.0.0.5"               # a client cannot name itself
    assert seen_client(app_with("10.0.0.0/8"), forwarded) == "192.0.2.1"    # the proxy's view of the client
    assert seen_client(app_with("10.0.0.0/8, 192.0.2.1"), forwarded) == "6.6.6.6"
    assert seen_client(app_with("10.0.0.0/8"), {"X-Forwarded-For": "not-an-ip"}) == "10.0.0.5"
    assert seen_client(app_with("10.0.0.0/8, ::1"), {}) == "10.0.0.5"


def test_login_without_csrf_token_is_refused(client, agents) -> None:
    response = client.post("/login", data={"email": "alice@shop.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


OFF_SITE = ["//evil.example/x", "/%09/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example",
            "/%5Cevil.example", "%5C%5Cevil.example", "https://evil.example/", "https:evil.example",
            "/%E2%80%A8/evil.example", "%20//evil.example", "javascript:alert(1)", "evil.example",
            "/%0d%0aSet-Cookie:%20x=1", "///evil.example", "/%00/evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client, agents, target: str) -> None:
    token = csrf_from(client.get(f"/login?next={target}").get_data(as_text=True))
    response = client.post(f"/login?next={target}",
                           data={"email": "alice@shop.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Set-Cookie: x" not in str(response.headers)


@pytest.mark.parametrize("target", ["/conversations/7", "/review?page=2&q=a%20b", "/api/x#frag"])
def test_login_follows_same_site_paths(client, agents, target: str) -> None:
    from urllib.parse import quote

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(f"/login?next={quote(target)}",
                           data={"email": "alice@shop.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == target


def test_safe_next_rules() -> None:
    from console.security import safe_next

    assert safe_next("/x/y?z=1") == "/x/y?z=1"
    for bad in ["//a", "/\\a", "/\ta", "/\r\n", "http://a/", "a/b", "", None, "/" + "x" * 5000, "/\u2028"]:
        assert safe_next(bad) is None, bad


def test_api_posts_need_the_csrf_header(client, agents, desk) -> None:
    handoff = desk.open_handoff("conv-csrf", "requested")
    csrf = login(client)
    assert client.post(f"/api/handoffs/{handoff.id}/claim", json={}).status_code == 400
    assert desk.get(handoff.id).status == "waiting"
    response = client.post(f"/api/handoffs/{handoff.id}/claim", json={}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200 and desk.get(handoff.id).status == "claimed"


def test_cli_creates_users_with_password_from_stdin(store_url: str, sessions) -> None:
    def create(*args: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "console", "create-user", *args, "--database-url", store_url],
                              input=password + "\n", capture_output=True, text=True, timeout=120)

    result = create("--role", "admin", "--password-stdin", "--name", "Ada", "ada@shop.example", password=PASSWORD)
    assert result.returncode == 0, result.stderr
    assert "Created admin ada@shop.example" in result.stdout
    agent = authenticate(sessions, "ada@shop.example", PASSWORD)
    assert agent is not None and agent.is_admin and agent.display_name == "Ada"
    short = create("--role", "agent", "--password-stdin", "bo@shop.example", password="short")
    assert short.returncode == 2 and "at least" in short.stderr
    again = create("--role", "agent", "--password-stdin", "ada@shop.example", password=PASSWORD)
    assert again.returncode == 2 and "already" in again.stderr


@pytest.mark.parametrize("missing", ["", "short"])
def test_app_refuses_to_start_without_a_secret_key(store_url: str, missing: str) -> None:
    from console import ConfigurationError, create_app

    with pytest.raises(ConfigurationError):
        create_app({"SECRET_KEY": missing, "SHOPDESK_DATABASE_URL": store_url})


def test_the_console_key_is_its_own_never_the_web_apps(store_url: str) -> None:
    from console.settings import settings_from_env

    env = {"FLASK_SECRET_KEY": "web-app-key-0123456789", "SHOPDESK_CONSOLE_SECRET_KEY": "console-key-0123456789"}
    assert settings_from_env(env)["SECRET_KEY"] == "console-key-0123456789"
    assert settings_from_env({"FLASK_SECRET_KEY": "web-app-key-0123456789"})["SECRET_KEY"] == ""


def _serve_console(store_url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if k not in {"FLASK_SECRET_KEY", "SHOPDESK_CONSOLE_SECRET_KEY"}}
    return subprocess.run([sys.executable, "-m", "console", "serve", "--port", "1"], capture_output=True,
                          text=True, timeout=120, env={**base, "SHOPDESK_DATABASE_URL": store_url, **env})


def test_console_refuses_to_start_with_the_web_apps_key_or_none(store_url: str) -> None:
    shared = _serve_console(store_url, {"FLASK_SECRET_KEY": "the-same-key-0123456789",
                                        "SHOPDESK_CONSOLE_SECRET_KEY": "the-same-key-0123456789"})
    assert shared.returncode == 2 and "must differ" in shared.stderr
    web_only = _serve_console(store_url, {"FLASK_SECRET_KEY": "web-app-key-0123456789"})
    assert web_only.returncode == 2 and "SHOPDESK_CONSOLE_SECRET_KEY is not set" in web_only.stderr
    proxies = _serve_console(store_url, {"SHOPDESK_CONSOLE_SECRET_KEY": "console-key-0123456789",
                                         "SHOPDESK_TRUSTED_PROXIES": "not-a-network"})
    assert proxies.returncode == 2 and "SHOPDESK_TRUSTED_PROXIES" in proxies.stderr
