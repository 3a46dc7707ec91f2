"""What the widget shows around the messages: the welcome, who the shopper talks to, agents in transcripts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from console.models import Agent, Handoff, HandoffReason, HandoffStatus, Role
from store.db import make_engine
from tests.web.conftest import RASA_TOKEN, sign_in
from web.transcript import transcript


def add_handoff(store_url: str, cid: str, status: HandoffStatus, agent_name: str | None = None,
                online: bool = True, created_ago_s: int = 60) -> None:
    engine = make_engine(store_url)
    now = datetime.utcnow()
    with Session(engine) as s, s.begin():
        agent = None
        if agent_name:
            agent = Agent(email=f"{agent_name.lower()}@shop.example", display_name=agent_name, password_hash="x",
                          role=Role.AGENT, active=True, created_at=now,
                          last_seen_at=now if online else None)
            s.add(agent)
            s.flush()
        s.add(Handoff(conversation_id=cid, status=status, reason=HandoffReason.REQUESTED, reason_detail="",
                      channel="socketio", last_message="a person please",
                      created_at=now - timedelta(seconds=created_ago_s),
                      updated_at=now, claimed_by_id=agent.id if agent and status == HandoffStatus.CLAIMED else None,
                      claimed_at=now if status == HandoffStatus.CLAIMED else None, version=1, resolution_note=""))
    engine.dispose()


def test_session_carries_the_shops_welcome_and_starter_quick_replies(client):
    welcome = client.get("/api/session").get_json()["welcome"]
    assert "Robin" in welcome["text"] and "ShopDesk Demo Shop" in welcome["text"]
    assert welcome["assistant"] == "Robin"
    titles = [q["title"] for q in welcome["quick_replies"]]
    assert "Where is my order?" in titles and "Talk to a person" in titles
    assert all(q["payload"].startswith("/") for q in welcome["quick_replies"])


def test_handoff_state_is_the_bot_without_a_handoff(client):
    body = client.get("/api/handoff").get_json()
    assert body["state"] == "bot"
    assert body["conversation_id"] == client.get("/api/session").get_json()["conversation_id"]


def test_a_waiting_conversation_gets_its_real_place_and_wait(client, store_url):
    cid = client.get("/api/session").get_json()["conversation_id"]
    add_handoff(store_url, "0" * 32, HandoffStatus.WAITING, agent_name="Sam")   # someone ahead, Sam online
    add_handoff(store_url, cid, HandoffStatus.WAITING)
    body = client.get("/api/handoff").get_json()
    assert body["state"] == "waiting"
    assert body["position"] == 2 and body["agents_online"] == 1
    assert body["wait_minutes"] >= 1 and "agent" not in body


def test_a_claimed_conversation_names_the_agent_and_nothing_else(client, store_url):
    cid = client.get("/api/session").get_json()["conversation_id"]
    add_handoff(store_url, cid, HandoffStatus.CLAIMED, agent_name="Alice")
    body = client.get("/api/handoff").get_json()
    assert body == {"conversation_id": cid, "state": "agent", "agent": {"name": "Alice"}}


def test_another_conversations_handoff_is_not_this_ones(client, store_url):
    add_handoff(store_url, "f" * 32, HandoffStatus.CLAIMED, agent_name="Alice")
    assert client.get("/api/handoff").get_json()["state"] == "bot"


def test_agent_messages_in_the_history_carry_the_agents_name(client, fake_rasa):
    cid = client.get("/api/session").get_json()["conversation_id"]
    fake_rasa.trackers[cid] = [
        {"event": "user", "text": "a person please", "timestamp": 1.0, "metadata": {}},
        {"event": "bot", "text": "Alice from customer service has joined the chat.", "timestamp": 2.0,
         "metadata": {"shopdesk_agent": "system"}},
        {"event": "bot", "text": "Hi, Alice here.", "timestamp": 3.0, "metadata": {"shopdesk_agent": "Alice"}},
        {"event": "bot", "text": "I'm the assistant.", "timestamp": 4.0, "metadata": {}},
    ]
    messages = client.get("/api/history").get_json()["messages"]
    assert [m.get("agent") for m in messages] == [None, "system", "Alice", None]
    assert fake_rasa.requests[-1]["query"]["token"] == [RASA_TOKEN]


def test_an_image_caption_is_what_the_history_shows():
    events = [{"event": "user", "text": '/share_image{"image_url": "/uploads/abc.png"}', "timestamp": 1.0,
               "metadata": {"display_text": "The lid is cracked", "attachment": {
                   "type": "image", "url": "/uploads/abc.png", "caption": "The lid is cracked"}}}]
    [message] = transcript(events)
    assert message["text"] == "The lid is cracked" and message["image"] == "/uploads/abc.png"


def test_a_verified_customers_history_follows_them_to_another_device(app, fake_rasa):
    laptop, phone, guest = app.test_client(), app.test_client(), app.test_client()
    sign_in(laptop, 0)
    first = laptop.get("/api/session").get_json()["conversation_id"]
    fake_rasa.trackers[first] = [{"event": "user", "text": "where is my order?", "timestamp": 1.0, "metadata": {}},
                                 {"event": "bot", "text": "It's on its way.", "timestamp": 2.0, "metadata": {}}]
    sign_in(phone, 0)                                     # the same customer, another device
    second = phone.get("/api/session").get_json()["conversation_id"]
    assert second != first
    fake_rasa.trackers[second] = [{"event": "user", "text": "hi again", "timestamp": 3.0, "metadata": {}}]
    body = phone.get("/api/history").get_json()
    assert [m["text"] for m in body["messages"]] == ["hi again"]
    assert [[m["text"] for m in c["messages"]] for c in body["earlier"]] == [["where is my order?", "It's on its way."]]
    assert body["earlier"][0]["started_at"].endswith("Z")
    # and back on the laptop: the phone's conversation is the earlier one there
    assert [[m["text"] for m in c["messages"]] for c in laptop.get("/api/history").get_json()["earlier"]] \
        == [["hi again"]]

    # A guest, or another customer, sees none of it.
    guest.get("/api/session")
    assert guest.get("/api/history").get_json()["earlier"] == []
    other = app.test_client()
    sign_in(other, 1)
    other.get("/api/session")
    assert other.get("/api/history").get_json()["earlier"] == []


def test_an_unreadable_earlier_conversation_is_left_out(app, fake_rasa):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, 0)
    laptop.get("/api/session")                            # Rasa has no tracker for it: empty, left out
    sign_in(phone, 0)
    phone.get("/api/session")
    assert phone.get("/api/history").get_json()["earlier"] == []


def test_only_requests_that_change_the_session_set_its_cookie(client):
    """An image request racing /api/session must not write an older cookie back (it lost the CSRF token)."""
    client.get("/api/session")
    response = client.get("/favicon.ico")
    assert "Set-Cookie" not in response.headers
