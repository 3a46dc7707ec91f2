"""What agents read instead of ids: queue cards (customer, reason, intent, channel), the knowledge-base
question picked from a transcript, and a Rasa that does not answer in time (real store, Rasa stand-in)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from console.labels import channel_name, detail_label, intent_label
from console.suggestions import question_from
from store.models import Customer
from tests.console.conftest import login, user_event


def test_labels() -> None:
    assert channel_name("socketio") == "Web chat" and channel_name("shopdesk_rest") == "REST API"
    assert channel_name("") == "Unknown channel" and channel_name("my_channel") == "My channel"
    assert intent_label("track_refund") == "Track refund" and intent_label("contact_human_agent") == "Talk to a person"
    assert detail_label("asked for a person (contact_human_agent)") == ("asked for a person", "Talk to a person")
    assert detail_label("clearly negative message (sentiment -0.80)") == (
        "clearly negative message (sentiment -0.80)", "")


def test_queue_cards_carry_words(client, agents, desk, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        customer = Customer(email="jo.words@example.com", name="Jo Words", country="UK", address="x",
                            created_at=datetime.now())
        s.add(customer)
        s.flush()
        customer_id = customer.id
    desk.open_handoff("conv-words", "requested", "asked for a person (contact_human_agent)", channel="socketio",
                      customer_id=customer_id, last_message="a person please")
    login(client)
    card = client.get("/api/queue").get_json()["lanes"]["waiting"][0]
    assert (card["customer_name"], card["reason_label"], card["intent_label"], card["channel_name"]) == (
        "Jo Words", "Asked for a person", "Talk to a person", "Web chat")
    page = client.get("/").get_data(as_text=True)
    assert "Jo Words" in page and "Web chat" in page and 'datetime="' in page and ">socketio<" not in page


def test_the_question_for_the_knowledge_base_skips_small_talk() -> None:
    def item(text: str, intent: str) -> dict[str, str]:
        return {"kind": "customer", "text": text, "intent": intent}

    items = [item("how long do refunds take to arrive", "track_refund"), {"kind": "bot", "text": "About 5 days"},
             item("hi", "greet"), item("can I talk to a human please", "contact_human_agent"), item("ok", "affirm")]
    assert question_from(items) == "how long do refunds take to arrive"
    assert question_from([item("hello there", "greet")]) == ""


def test_a_slow_rasa_is_unreachable_not_answering(app, client, agents, desk, fake_rasa) -> None:  # type: ignore[no-untyped-def]
    app.extensions["shopdesk_console"].rasa.timeout_s = 0.3
    fake_rasa.trackers["conv-slow"] = [user_event("hello", "greet")]
    handoff = desk.open_handoff("conv-slow", "requested")
    login(client)
    fake_rasa.hang = 1.0
    page = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert "unknown (assistant unreachable)" in page and ">answering<" not in page
    assert "The assistant server is unreachable: no answer within 0.3 s." in page
    assert "The transcript cannot be shown: the assistant server is unreachable." in page
    fake_rasa.hang = 0.0
    state = client.get(f"/api/handoffs/{handoff.id}").get_json()
    assert state["problem"] == "" and state["transcript"][0]["text"] == "hello"
