"""Nothing in the console answers without login; forms and API calls need the CSRF token; the CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from console.users import authenticate
from tests.console.conftest import PASSWORD, csrf_from, login

SAMPLE_ARGS = {"handoff_id": 1, "filename": "queue.js", "job_id": 1, "model_id": 1, "name": "f1",
               "conversation_id": "conv-auth"}


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
            expected = 403 if endpoint.startswith("review.") else 200  # training pages: admins only (test_review)
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


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client, agents, sessions) -> None:
    from sqlalchemy import update

    from console.models import Agent

    token = csrf_from(client.get("/login").get_data(as_text=True))
    for _ in range(5):
        response = client.post("/login", data={"email": "bob@shop.example", "password": "guess-guess-guess",
                                               "csrf_token": token})
        assert response.status_code == 401
    response = client.post("/login", data={"email": "bob@shop.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and "Too many wrong passwords" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    login(client, "alice@shop.example")  # other accounts are not affected
    with sessions.begin() as s:  # the wait is over
        s.execute(update(Agent).values(locked_until=None))
    assert authenticate(sessions, "bob@shop.example", PASSWORD) is not None


def test_login_without_csrf_token_is_refused(client, agents) -> None:
    response = client.post("/login", data={"email": "alice@shop.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(client, agents) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x",
                           data={"email": "alice@shop.example", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


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
