"""Agent management and canned replies in the console: admins only, CSRF, the last active admin stays, and
disabled accounts (or reset passwords) end the account's sessions. Real store, real Flask sessions."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from console.canned import all_canned
from console.users import authenticate, list_agents
from tests.console.conftest import PASSWORD, login


def admin(client: Any) -> str:
    return login(client, "admin@shop.example")


def test_only_admins_and_only_with_csrf(client, agents) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/admin/agents").status_code == 302  # signed out: to the login page
    csrf = login(client)  # alice is an agent
    page = client.get("/").get_data(as_text=True)
    assert "nav-agents" not in page and "nav-canned" not in page
    for path in ("/admin/agents", "/admin/canned"):
        assert client.get(path).status_code == 403
    bob = agents["bob"].id
    assert client.post(f"/admin/agents/{bob}/active", data={"csrf_token": csrf, "active": "0"}).status_code == 403
    assert client.post("/admin/canned", data={"csrf_token": csrf, "title": "x", "text": "y"}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    admin(client)
    assert client.post(f"/admin/agents/{bob}/active", data={"active": "0"}).status_code == 400  # no CSRF token


def test_list_change_role_and_the_last_admin_stays(client, agents, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    csrf = admin(client)
    page = client.get("/admin/agents").get_data(as_text=True)
    assert all(a.email in page for a in agents.values()) and "(you)" in page
    ada = agents["admin"].id
    refused = client.post(f"/admin/agents/{ada}/role", data={"csrf_token": csrf, "role": "agent"})
    assert refused.status_code == 409 and "last active admin" in refused.get_data(as_text=True)
    refused = client.post(f"/admin/agents/{ada}/active", data={"csrf_token": csrf, "active": "0"})
    assert refused.status_code == 409 and "last active admin" in refused.get_data(as_text=True)
    bad = client.post(f"/admin/agents/{agents['bob'].id}/role", data={"csrf_token": csrf, "role": "owner"})
    assert bad.status_code == 409 and "Role must be one of" in bad.get_data(as_text=True)
    done = client.post(f"/admin/agents/{agents['bob'].id}/role", data={"csrf_token": csrf, "role": "admin"},
                       follow_redirects=True)
    assert "Bob is now an admin." in done.get_data(as_text=True)
    # with Bob an admin, Ada may step down; then Bob is the last one
    client.post(f"/admin/agents/{ada}/role", data={"csrf_token": csrf, "role": "agent"})
    roles = {a.email: (a.role, a.active) for a in list_agents(sessions)}
    assert roles["admin@shop.example"] == ("agent", True) and roles["bob@shop.example"] == ("admin", True)
    assert client.get("/admin/agents").status_code == 403  # Ada's session sees her new role at once


def test_disabled_agents_are_signed_out_and_cannot_sign_in(app, client, agents,  # type: ignore[no-untyped-def]
                                                           sessions: sessionmaker[Session]) -> None:
    alice = app.test_client()
    login(alice)
    assert alice.get("/").status_code == 200
    held = app.extensions["shopdesk_console"].handoffs.open_handoff("conv-held", "requested")
    assert app.extensions["shopdesk_console"].handoffs.claim(held.id, agents["alice"].id)
    csrf = admin(client)
    done = client.post(f"/admin/agents/{agents['alice'].id}/active", data={"csrf_token": csrf, "active": "0"},
                       follow_redirects=True)
    assert ("Alice is disabled and signed out everywhere. 1 conversation(s) they held are back in the queue."
            in done.get_data(as_text=True))
    released = app.extensions["shopdesk_console"].handoffs.get(held.id)
    assert (released.status, released.claimed_by_id) == ("waiting", None)
    assert alice.get("/").status_code == 302  # her open session ended
    assert alice.get("/api/queue").status_code == 401
    assert authenticate(sessions, "alice@shop.example", PASSWORD) is None
    # enabled again, the old session stays ended; a new sign-in works
    client.post(f"/admin/agents/{agents['alice'].id}/active", data={"csrf_token": csrf, "active": "1"})
    assert alice.get("/").status_code == 302
    login(alice)
    assert alice.get("/").status_code == 200


def test_reset_password_shows_it_once_and_ends_sessions(app, client, agents,  # type: ignore[no-untyped-def]
                                                        sessions: sessionmaker[Session]) -> None:
    bob = app.test_client()
    login(bob, "bob@shop.example")
    csrf = admin(client)
    response = client.post(f"/admin/agents/{agents['bob'].id}/password", data={"csrf_token": csrf})
    page = response.get_data(as_text=True)
    password = re.search(r'id="new-password" class="secret">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert response.status_code == 200 and len(password) >= 16
    assert password not in (response.headers.get("Set-Cookie") or "")  # not kept in the (signed) session
    assert bob.get("/").status_code == 302
    assert authenticate(sessions, "bob@shop.example", PASSWORD) is None
    assert authenticate(sessions, "bob@shop.example", password) is not None
    assert password not in client.get("/admin/agents").get_data(as_text=True)  # shown only once


def test_add_an_account(client, agents, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    csrf = admin(client)
    page = client.post("/admin/agents", data={"csrf_token": csrf, "email": "Cleo@Shop.example", "name": "Cleo",
                                              "role": "agent"}).get_data(as_text=True)
    password = re.search(r'id="new-password" class="secret">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert authenticate(sessions, "cleo@shop.example", password) is not None
    again = client.post("/admin/agents", data={"csrf_token": csrf, "email": "cleo@shop.example", "role": "agent"})
    assert again.status_code == 400 and "already an account" in again.get_data(as_text=True)
    bad = client.post("/admin/agents", data={"csrf_token": csrf, "email": "not an email", "role": "agent"})
    assert bad.status_code == 400 and "not a valid email" in bad.get_data(as_text=True)
    assert len(list_agents(sessions)) == 4


def test_canned_replies_are_edited_in_the_console(client, agents, desk,  # type: ignore[no-untyped-def]
                                                  sessions: sessionmaker[Session]) -> None:
    csrf = admin(client)
    before = all_canned(sessions)
    assert before and "Greeting" in client.get("/admin/canned").get_data(as_text=True)
    first = before[0]
    saved = client.post(f"/admin/canned/{first.id}", data={"csrf_token": csrf, "title": "Hello",
                                                           "text": "Hi, I'm <b>here</b>."}, follow_redirects=True)
    assert "Saved “Hello”." in saved.get_data(as_text=True)
    clash = client.post("/admin/canned", data={"csrf_token": csrf, "title": "Hello", "text": "again"})
    assert clash.status_code == 400 and "already a canned reply" in clash.get_data(as_text=True)
    empty = client.post("/admin/canned", data={"csrf_token": csrf, "title": "", "text": "x"})
    assert empty.status_code == 400 and "needs a title and a text" in empty.get_data(as_text=True)
    client.post("/admin/canned", data={"csrf_token": csrf, "title": "Delivery", "text": "Parcels take 2 days."})
    client.post(f"/admin/canned/{before[1].id}/delete", data={"csrf_token": csrf})
    titles = [c.title for c in all_canned(sessions)]
    assert titles[0] == "Hello" and "Delivery" in titles and before[1].title not in titles
    # agents see the edited replies in the conversation view, escaped
    handoff = desk.open_handoff("conv-canned", "requested")
    page = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert 'data-text="Hi, I&#39;m &lt;b&gt;here&lt;/b&gt;."' in page and ">Delivery</button>" in page


def test_migration_0007_keeps_accounts_and_their_handoffs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0007 rebuilds console_agents (SQLite batch mode) while handoffs point to it: rows and links survive."""
    from sqlalchemy import text

    from store.db import make_engine
    from store.migrate import upgrade_database

    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_database(engine, "0006")
    with engine.begin() as c:
        c.execute(text("INSERT INTO console_agents (id, email, display_name, password_hash, role, active, "
                       "failed_logins, created_at) VALUES (1, 'old@shop.example', 'Old', 'x', 'admin', 1, 0, "
                       "'2026-01-01 00:00:00')"))
        c.execute(text("INSERT INTO handoffs (conversation_id, status, reason, reason_detail, channel, last_message, "
                       "created_at, claimed_by_id, resolution_note, updated_at, version) VALUES ('c', 'claimed', "
                       "'requested', '', '', '', '2026-01-01', 1, '', '2026-01-01', 1)"))
    upgrade_database(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT email, session_epoch FROM console_agents")).all() == [("old@shop.example", 0)]
        assert c.execute(text("SELECT claimed_by_id FROM handoffs")).scalar() == 1
        assert c.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


def test_disabling_ends_open_live_streams(app, client, agents, desk, fake_rasa,  # type: ignore[no-untyped-def]
                                          sessions: sessionmaker[Session]) -> None:
    import time

    from console.users import set_active

    app.config["CONSOLE_STREAM_SECONDS"] = 30.0  # longer than the test may wait
    handoff = desk.open_handoff("conv-stream", "requested")
    alice = app.test_client()
    login(alice)
    for path in ("/queue/stream", f"/api/handoffs/{handoff.id}/stream"):
        response = alice.get(path, buffered=False)
        chunks = iter(response.response)
        assert b"retry" in next(chunks)
        set_active(sessions, agents["alice"].id, False)
        started = time.monotonic()
        list(chunks)  # the stream ends instead of running for its 30 s
        assert time.monotonic() - started < 5, path
        response.close()
        set_active(sessions, agents["alice"].id, True)
        login(alice)  # a new session (the old one ended with the disable)
