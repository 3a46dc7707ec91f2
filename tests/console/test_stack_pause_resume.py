"""The handoff against the real Rasa server and action server (REST channel): with an agent online the bot
hands over and pauses, the channel acknowledges the customer's messages while they wait, the bot stays
silent while the agent holds the conversation, the agent's messages are recorded in the tracker, and it
answers again once the console resumes the conversation. With nobody online the message is left for the
team and the bot keeps answering. The console runs in-process against the same Rasa and database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from console import create_app
from console.handoffs import HandoffDesk
from console.users import create_user
from runtime.chat_client import conversation_id, send_message
from store.db import make_engine, session_factory
from tests.console.conftest import PASSWORD, login
from tests.e2e.handoff_support import handoff_stack  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
HANDED_OVER = ("passed your message to our customer service team", "connecting you with a member of our")
WAITING = "your message has been passed to our customer service team"


def handed_over(reply: str) -> bool:
    return any(phrase in reply for phrase in HANDED_OVER)


def chat(stack: Any, sender: str, text: str) -> str:
    return "\n".join(m.get("text") or "" for m in send_message(stack.rasa_url, sender, text))


def events(stack: Any, sender: str) -> list[dict[str, Any]]:
    """The tracker of a REST sender's conversation (`rest:<sender>`)."""
    response = requests.get(f"{stack.rasa_url}/conversations/{conversation_id(sender)}/tracker",
                            params={"token": stack.env()["RASA_AUTH_TOKEN"], "include_events": "ALL"}, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


@pytest.fixture
def desk(handoff_stack) -> HandoffDesk:  # noqa: F811
    return HandoffDesk(session_factory(make_engine(handoff_stack.database_url)))


@pytest.fixture
def console_client(handoff_stack, desk):  # type: ignore[no-untyped-def]  # noqa: F811
    email = f"agent-{uuid.uuid4().hex[:6]}@shop.example"
    create_user(session_factory(make_engine(handoff_stack.database_url)), email, PASSWORD, "agent", "Alice")
    env = handoff_stack.env()
    app = create_app({"TESTING": True, "SECRET_KEY": "flask-secret-for-console-tests-0123",
                      "SHOPDESK_DATABASE_URL": handoff_stack.database_url, "SHOPDESK_RASA_URL": handoff_stack.rasa_url,
                      "SHOPDESK_RASA_AUTH_TOKEN": env["RASA_AUTH_TOKEN"], "CONSOLE_KNOWLEDGE": False,
                      "SHOPDESK_SIGNING_KEY": env["SHOPDESK_SIGNING_KEY"]})
    client = app.test_client()
    return client, login(client, email)


def test_bot_is_silent_while_an_agent_holds_the_conversation(handoff_stack, desk, console_client) -> None:  # noqa: F811
    client, csrf = console_client
    sender = f"handoff-{uuid.uuid4().hex[:8]}"
    assert "assistant. I can track" in chat(handoff_stack, sender, "hello")  # the bot answers normally
    reply = chat(handoff_stack, sender, "I want to talk to a human agent")
    assert handed_over(reply), reply
    handoff = desk.open_for_conversation(conversation_id(sender))
    assert handoff is not None and handoff.reason == "requested" and handoff.status == "waiting"
    tracker = events(handoff_stack, sender)
    assert any(e["event"] == "pause" for e in tracker)
    assert all("sentiment" in e["parse_data"] for e in tracker if e["event"] == "user")

    # paused, nobody has joined yet: the customer's messages are recorded and acknowledged, the bot says nothing
    for text in ("hello?", "where is my order 581142", "I want to talk to a human agent"):
        reply = chat(handoff_stack, sender, text)
        assert WAITING in reply and ("in the queue" in reply or "next in line" in reply), reply
    tracker = events(handoff_stack, sender)
    assert [e["text"] for e in tracker if e["event"] == "user"][-3:] == [
        "hello?", "where is my order 581142", "I want to talk to a human agent"]
    last_user = max(i for i, e in enumerate(tracker) if e["event"] == "user")
    assert not [e for e in tracker[last_user:] if e["event"] in ("bot", "action") and
                e.get("name") != "action_listen"]

    # the agent claims and replies through the console: recorded in the tracker
    headers = {"X-CSRFToken": csrf}
    assert client.post(f"/api/handoffs/{handoff.id}/claim", json={}, headers=headers).status_code == 200
    assert client.post(f"/api/handoffs/{handoff.id}/reply", json={"text": "Hi, Alice here. How can I help?"},
                       headers=headers).status_code == 200
    state = client.get(f"/api/handoffs/{handoff.id}").get_json()
    assert state["paused"] and {"kind": "agent", "author": "Alice", "text": "Hi, Alice here. How can I help?",
                                "buttons": [], "time": state["transcript"][-1]["time"]} == state["transcript"][-1]
    asked = [i for i in state["transcript"]
             if i["kind"] == "customer" and i["text"] == "I want to talk to a human agent"]
    assert asked[0]["intent"] == "contact_human_agent" and asked[0]["confidence"] > 0.5
    assert send_message(handoff_stack.rasa_url, sender, "thanks, my parcel is late") == []

    # back to the bot: it answers again
    assert client.post(f"/api/handoffs/{handoff.id}/return", json={}, headers=headers).status_code == 200
    assert desk.get(handoff.id).status == "returned"
    assert not client.get(f"/api/handoffs/{handoff.id}").get_json()["paused"]
    assert "assistant. I can track" in chat(handoff_stack, sender, "hello")
    assert "Royal Mail" in chat(handoff_stack, sender, "what are your delivery options?")


def test_an_angry_message_goes_to_a_person(handoff_stack, desk) -> None:  # noqa: F811
    sender = f"angry-{uuid.uuid4().hex[:8]}"
    reply = chat(handoff_stack, sender, "You are useless!! I hate this stupid bot, worst service ever")
    assert handed_over(reply), reply
    handoff = desk.open_for_conversation(conversation_id(sender))
    assert handoff.reason == "sentiment" and "sentiment -0." in handoff.reason_detail
    assert chat(handoff_stack, sender, "hello").strip()  # never an empty reply, paused or not


def test_with_nobody_online_the_message_is_left_and_the_bot_keeps_helping(handoff_stack, desk) -> None:  # noqa: F811
    from sqlalchemy import update

    from console.models import Agent

    with session_factory(make_engine(handoff_stack.database_url)).begin() as s:
        s.execute(update(Agent).values(last_seen_at=None))  # every console closed
    sender = f"offline-{uuid.uuid4().hex[:8]}"
    assert "0113 496 0000" in chat(handoff_stack, sender, "can I call you?")  # answered, not handed over
    assert desk.open_for_conversation(conversation_id(sender)) is None
    reply = chat(handoff_stack, sender, "I want to talk to a human agent")
    assert "no one is online right now" in reply, reply
    handoff = desk.open_for_conversation(conversation_id(sender))
    assert handoff.status == "waiting" and "talk to a human agent" in handoff.last_message
    assert not any(e["event"] == "pause" for e in events(handoff_stack, sender))
    assert "Royal Mail" in chat(handoff_stack, sender, "what are your delivery options?")


def test_two_misses_in_a_row_go_to_a_person(handoff_stack, desk) -> None:  # noqa: F811
    sender = f"misses-{uuid.uuid4().hex[:8]}"
    first = chat(handoff_stack, sender, "qwzx plarf vumble")
    assert not handed_over(first) and desk.open_for_conversation(conversation_id(sender)) is None
    second = chat(handoff_stack, sender, "zorp glimb frazzle")
    assert handed_over(second), second
    assert desk.open_for_conversation(conversation_id(sender)).reason == "misses"
