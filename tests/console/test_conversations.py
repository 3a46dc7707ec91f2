"""The conversation view and the agent's actions, against a real database and a recording Rasa stand-in:
transcript with NLU details, customer context, replies delivered through Rasa, return to bot, close."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import Handoff
from shop_profile import current_profile
from store.db import make_engine
from store.models import Customer, Order
from store.tokens import issue_customer_token
from tests.console.conftest import SIGNING_KEY, csrf_from, login, user_event

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def seeded_customer(store_url: str) -> tuple[int, str]:
    engine = make_engine(store_url)
    with Session(engine) as s:
        order = s.scalar(select(Order).join(Customer).order_by(Order.id))
        result = order.customer_id, order.number
    engine.dispose()
    return result


def customer_panel(html: str) -> str:
    return html.split('id="customer"', 1)[1].split("</section>", 1)[0]


def conversation(fake_rasa, desk, cid: str = "conv-1", customer_id: int | None = None):  # type: ignore[no-untyped-def]
    fake_rasa.trackers[cid] = [
        user_event("where is my order 900001", "track_order", 0.93, 0.0,
                   entities=[{"entity": "order_id", "value": "900001", "start": 18, "end": 24}]),
        {"event": "bot", "text": "What's the email on the order?", "timestamp": 1764072001.0, "data": {}},
        user_event(XSS, "nlu_fallback", 0.31, -0.1),
        user_event("You are useless!! I hate this stupid bot", "complaint", 0.88, -0.902),
        {"event": "action", "name": "action_handoff_to_human"},
        {"event": "pause"},
    ]
    return desk.open_handoff(cid, "sentiment", "clearly negative message (sentiment -0.90)",
                             channel="socketio", customer_id=customer_id, last_message=XSS)


def test_transcript_shows_intent_confidence_entities_and_sentiment(client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    login(client)
    html = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert "track_order" in html and "(0.93)" in html and "order_id=900001" in html
    assert "complaint" in html and "angry -0.90" in html and "nlu_fallback" in html
    assert "Bot paused" in html and "paused" in html
    # customer text is escaped, never markup
    assert XSS not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    state = client.get(f"/api/handoffs/{handoff.id}").get_json()
    customer = [i for i in state["transcript"] if i["kind"] == "customer"]
    assert [c["intent"] for c in customer] == ["track_order", "nlu_fallback", "complaint"]
    assert customer[2]["sentiment"] == -0.902 and customer[2]["sentiment_label"] == "angry"
    assert customer[0]["entities"] == [{"entity": "order_id", "value": "900001"}]
    assert state["paused"] is True and state["handoff"]["status"] == "waiting"


def test_agents_read_what_the_bot_processed_not_what_the_client_labels_it(client, agents, desk, fake_rasa) -> None:
    """display_text is the widget's label for a button payload; it never replaces free text the bot read."""
    fake_rasa.trackers["conv-display"] = [
        user_event("/affirm", "affirm", 1.0, metadata={"display_text": "Yes"}),
        user_event("cancel my order 900001 now", "cancel_order", 0.9,
                   metadata={"display_text": "Thanks, all sorted, nothing to do"}),
        user_event("hi", "greet", 0.9, metadata={"display_text": ["not", "text"]}),
    ]
    handoff = desk.open_handoff("conv-display", "requested", channel="socketio")
    login(client)
    customer = [i for i in client.get(f"/api/handoffs/{handoff.id}").get_json()["transcript"]
                if i["kind"] == "customer"]
    assert [(c["text"], c["payload"]) for c in customer] == [
        ("Yes", "/affirm"), ("cancel my order 900001 now", None), ("hi", None)]
    html = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert "cancel my order 900001 now" in html and "nothing to do" not in html
    assert '<code class="payload">/affirm</code>' in html


def test_customer_context_only_for_a_verified_customer(client, agents, desk, fake_rasa, store_url) -> None:
    customer_id, number = seeded_customer(store_url)
    anonymous = conversation(fake_rasa, desk, "anon")
    verified = conversation(fake_rasa, desk, "known", customer_id=customer_id)
    login(client)
    html = customer_panel(client.get(f"/conversations/{anonymous.id}").get_data(as_text=True))
    assert "Not verified" in html and number not in html
    html = customer_panel(client.get(f"/conversations/{verified.id}").get_data(as_text=True))
    assert number in html and "verified by the assistant" in html and "Recent orders" in html


def test_context_from_a_signed_token_in_the_messages(client, agents, desk, fake_rasa, store_url) -> None:
    customer_id, number = seeded_customer(store_url)
    handoff = conversation(fake_rasa, desk, "token-conv")
    fake_rasa.trackers["token-conv"].append(user_event("hello?", "greet", metadata={
        "customer_token": issue_customer_token(customer_id, "token-conv", SIGNING_KEY)}))
    fake_rasa.trackers["token-conv"].append(user_event("hi", "greet", metadata={"customer_token": "forged"}))
    login(client)
    html = customer_panel(client.get(f"/conversations/{handoff.id}").get_data(as_text=True))
    assert "Not verified" in html  # only the latest message's token counts, and it is forged
    fake_rasa.trackers["token-conv"].pop()
    html = customer_panel(client.get(f"/conversations/{handoff.id}").get_data(as_text=True))
    assert number in html and "signed in on the shop" in html


def test_context_says_so_when_the_shops_order_api_is_unreachable(app, agents, desk, fake_rasa, store_url,
                                                                   monkeypatch) -> None:
    """Connected to a shop's order API (SHOPDESK_ORDER_BACKEND=http) that is down: the page still works and
    tells the agent why the orders are missing, instead of failing or calling the customer unverified."""
    from console import create_app
    from runtime.processes import free_port

    monkeypatch.setenv("SHOPDESK_ORDER_BACKEND", "http")
    monkeypatch.setenv("SHOPDESK_ORDER_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SHOPDESK_ORDER_API_TOKEN", "order-api-token-0123456789")
    connected = create_app(dict(app.config)).test_client()
    customer_id, number = seeded_customer(store_url)
    verified = conversation(fake_rasa, desk, "known", customer_id=customer_id)
    login(connected)
    page = connected.get(f"/conversations/{verified.id}")
    assert page.status_code == 200
    html = customer_panel(page.get_data(as_text=True))
    assert "order system can&#39;t be reached" in html and number not in html and "Not verified" not in html


def test_claim_reply_and_return_to_bot(client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    csrf = login(client)
    headers = {"X-CSRFToken": csrf}
    # replying before claiming is refused and sends nothing
    response = client.post(f"/api/handoffs/{handoff.id}/reply", json={"text": "hi"}, headers=headers)
    assert response.status_code == 409 and "Claim" in response.get_json()["error"]
    assert fake_rasa.posts == []
    assert client.post(f"/api/handoffs/{handoff.id}/claim", json={}, headers=headers).status_code == 200
    joined = fake_rasa.posts[-1]
    assert joined["events"][0] == {"event": "pause"}  # holds the bot even if the session had expired
    assert joined["events"][1]["text"] == "Alice from customer service has joined the chat."
    assert joined["query"]["output_channel"] == ["latest"] and joined["query"]["execute_side_effects"] == ["true"]

    response = client.post(f"/api/handoffs/{handoff.id}/reply", json={"text": "Sorry! Let me fix this."},
                           headers=headers)
    assert response.status_code == 200
    sent = fake_rasa.posts[-1]
    assert sent["conversation"] == "conv-1" and sent["query"]["output_channel"] == ["latest"]
    assert sent["events"] == [{"event": "bot", "text": "Sorry! Let me fix this.",
                               "metadata": {"shopdesk_agent": "Alice"}}]
    state = client.get(f"/api/handoffs/{handoff.id}").get_json()
    assert state["transcript"][-1] == {"kind": "agent", "author": "Alice", "text": "Sorry! Let me fix this.",
                                       "buttons": [], "time": None}
    for bad in ("", "   ", "x" * 2001):
        response = client.post(f"/api/handoffs/{handoff.id}/reply", json={"text": bad}, headers=headers)
        assert response.status_code == 409
    response = client.post(f"/conversations/{handoff.id}/return", data={"csrf_token": csrf, "note": ""})
    assert response.status_code == 302
    resumed = fake_rasa.posts[-1]["events"]
    assert resumed[0] == {"event": "resume"} and f"back with {current_profile().assistant.name}" in resumed[-2]["text"]
    assert resumed[-1] == {"event": "action", "name": "action_listen"}  # the next message starts a new turn
    assert desk.get(handoff.id).status == "returned"


def test_other_agents_cannot_reply_or_hand_back(app, client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    desk.claim(handoff.id, agents["bob"].id)
    csrf = login(client)
    headers = {"X-CSRFToken": csrf}
    response = client.post(f"/api/handoffs/{handoff.id}/claim", json={}, headers=headers)
    assert response.status_code == 409 and "Bob already took" in response.get_json()["error"]
    response = client.post(f"/api/handoffs/{handoff.id}/reply", json={"text": "hi"}, headers=headers)
    assert response.status_code == 409
    response = client.post(f"/api/handoffs/{handoff.id}/return", json={}, headers=headers)
    assert response.status_code == 409 and "Bob is handling" in response.get_json()["error"]
    assert fake_rasa.posts == [] and desk.get(handoff.id).status == "claimed"
    html = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert "Bob is handling this conversation" in html and 'id="reply-form"' not in html
    # an admin may take it back from anyone
    admin = app.test_client()
    admin_csrf = login(admin, "admin@shop.example")
    response = admin.post(f"/api/handoffs/{handoff.id}/close", json={"note": "customer left"},
                          headers={"X-CSRFToken": admin_csrf})
    assert response.status_code == 200 and desk.get(handoff.id).status == "closed"


def test_close_needs_a_resolution_note_and_rasa_failure_changes_nothing(client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    csrf = login(client)
    headers = {"X-CSRFToken": csrf}
    client.post(f"/api/handoffs/{handoff.id}/claim", json={}, headers=headers)
    response = client.post(f"/api/handoffs/{handoff.id}/close", json={"note": " "}, headers=headers)
    assert response.status_code == 409 and "resolution note" in response.get_json()["error"]
    fake_rasa.fail = True
    response = client.post(f"/api/handoffs/{handoff.id}/close", json={"note": "refunded"}, headers=headers)
    assert response.status_code == 409 and "Nothing changed" in response.get_json()["error"]
    assert desk.get(handoff.id).status == "claimed"
    fake_rasa.fail = False
    response = client.post(f"/conversations/{handoff.id}/close", data={"csrf_token": csrf, "note": "refunded"})
    assert response.status_code == 302
    closed = desk.get(handoff.id)
    assert closed.status == "closed" and closed.resolution_note == "refunded"
    assert fake_rasa.posts[-1]["events"][0] == {"event": "resume"}


def test_queue_stream_pushes_the_lanes_and_marks_the_agent_online(client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    login(client)
    response = client.get("/queue/stream")
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    queue = json.loads(body.split("event: queue\ndata: ", 1)[1].split("\n", 1)[0])
    assert [h["id"] for h in queue["lanes"]["waiting"]] == [handoff.id] and queue["agents_online"] == 1
    assert queue["lanes"]["waiting"][0]["last_message"] == XSS  # JSON, rendered with textContent


def test_conversation_stream_sends_the_transcript(client, agents, desk, fake_rasa) -> None:
    handoff = conversation(fake_rasa, desk)
    login(client)
    body = client.get(f"/api/handoffs/{handoff.id}/stream").get_data(as_text=True)
    state = json.loads(body.split("event: conversation\ndata: ", 1)[1].split("\n", 1)[0])
    assert state["transcript"][0]["intent"] == "track_order"
    assert client.get("/api/handoffs/999/stream").status_code == 404


def test_unknown_conversation_and_rasa_down(client, agents, desk, fake_rasa) -> None:
    login(client)
    assert client.get("/conversations/999").status_code == 404
    handoff = conversation(fake_rasa, desk)
    fake_rasa.fail = True
    html = client.get(f"/conversations/{handoff.id}").get_data(as_text=True)
    assert "assistant server answered HTTP 500" in html


def test_canned_replies_come_from_the_database(client, agents, sessions) -> None:
    login(client)
    canned = client.get("/api/canned").get_json()["canned"]
    assert any(c["title"] == "Greeting" for c in canned)
    with sessions() as s:
        assert s.scalar(select(Handoff)) is None


def test_page_has_strict_csp(client, agents) -> None:
    login(client)
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert csrf_from(response.get_data(as_text=True))
