"""Attacks on the REST and webhook channels of the real Rasa server (issue 15, items 1, 3, 5 and 6).

What an attacker on loopback tried: talking to the REST channel without the shop's token, choosing a
sender that names someone else's conversation (a `webhook:` phone number, a web-chat 32-hex id), bodies
with lone surrogates (`"s\\udfff"` stopped Rasa for good), wrong JSON types, huge messages, and a
320-digit webhook timestamp (a 500). Each must get a clear 4xx, store nothing, and leave Rasa answering.
What is stored is read from the tracker store's own database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from runtime.chat_client import REST_PATH, conversation_id, post_message, rest_headers, send_message

pytestmark = pytest.mark.slow
WEBHOOK_PATH = "/webhooks/shopdesk_webhook/webhook"
VICTIM_PHONE = "+447700900123"


@pytest.fixture(scope="module")
def tracker_db(shop_stack) -> Iterator[Engine]:
    engine = create_engine(shop_stack.env()["SHOPDESK_TRACKER_URL"])
    yield engine
    engine.dispose()


def stored(engine: Engine, conversation: str) -> int:
    """How many events the tracker store holds for `conversation`."""
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                  {"s": conversation}).scalar_one()


def signed_webhook(stack, body: bytes, timestamp: str | None = None) -> requests.Response:
    """A request as the shop's messaging backend sends it (docs/channels.md)."""
    timestamp = timestamp or str(int(time.time()))
    secret = stack.env()["SHOPDESK_WEBHOOK_SECRET"]
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-ShopDesk-Timestamp": timestamp, "X-ShopDesk-Signature": f"v1={digest}",
               "Content-Type": "application/json"}
    return requests.post(stack.rasa_url + WEBHOOK_PATH, data=body, headers=headers, timeout=60)


def assert_rasa_answers(stack) -> None:
    """The server is up and still holds conversations (not merely listening)."""
    assert requests.get(stack.rasa_url + "/", timeout=10).status_code == 200
    assert send_message(stack.rasa_url, f"alive-{uuid.uuid4().hex[:8]}", "hello")


def new_sender(prefix: str = "attacker") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---- item 1: who may use the REST channel, and which conversations it reaches ---------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer guessed-token-0123456789"},
                                     {"Authorization": "Basic c2hvcDpzaG9w"}])
def test_unauthenticated_rest_is_a_401_and_stores_nothing(shop_stack, tracker_db, headers) -> None:
    sender = new_sender()
    reply = requests.post(shop_stack.rasa_url + REST_PATH, json={"sender": sender, "message": "hello"},
                          headers=headers, timeout=30)
    assert reply.status_code == 401 and "error" in reply.json()
    assert stored(tracker_db, conversation_id(sender)) == 0 and stored(tracker_db, sender) == 0


def test_rasas_own_unauthenticated_rest_channel_is_not_exposed(shop_stack) -> None:
    reply = requests.post(shop_stack.rasa_url + "/webhooks/rest/webhook", json={"sender": "x", "message": "hi"},
                          timeout=30)
    assert reply.status_code == 404


def test_rest_sender_naming_a_webhook_conversation_lands_in_its_own(shop_stack, tracker_db) -> None:
    victim = f"webhook:{VICTIM_PHONE}"
    body = json.dumps({"sender": VICTIM_PHONE, "message": "hello", "reply": "sync",
                       "message_id": uuid.uuid4().hex}).encode()
    assert signed_webhook(shop_stack, body).status_code == 200
    before = stored(tracker_db, victim)
    assert before > 0

    reply = post_message(shop_stack.rasa_url, victim, "show me my recent orders")
    assert reply.status_code == 200
    assert stored(tracker_db, victim) == before               # the victim's conversation is untouched
    assert stored(tracker_db, conversation_id(victim)) > 0    # the caller got a conversation of its own
    assert all(m.get("recipient_id") == f"rest:{victim}" for m in reply.json())


def test_rest_sender_naming_a_web_chat_id_lands_in_a_rest_conversation(shop_stack, tracker_db) -> None:
    victim = uuid.uuid4().hex  # the shape of a widget's server-issued conversation id
    assert post_message(shop_stack.rasa_url, victim, "hello").status_code == 200
    assert stored(tracker_db, victim) == 0
    assert stored(tracker_db, f"rest:{victim}") > 0


# ---- item 3 and 5: bodies that used to stop Rasa, confuse it or stall it --------------------------------------


REST_ATTACKS = [
    ({"sender": "s\udfff", "message": "hello"}, "`sender`"),
    ({"sender": "x" * 10_000, "message": "hello"}, "`sender`"),
    ({"sender": 12345, "message": "hello"}, "`sender`"),
    ({"sender": ["a"], "message": "hello"}, "`sender`"),
    ({"sender": "line\nbreak", "message": "hello"}, "`sender`"),
    ({"sender": "SENDER", "message": "where is my order \udfff"}, "`message`"),
    ({"sender": "SENDER", "message": "/greet\udfff"}, "`message`"),
    ({"sender": "SENDER", "message": "a" * 40_000}, "`message`"),
    ({"sender": "SENDER", "message": {"text": "hi"}}, "`message`"),
    ({"sender": "SENDER", "message": 42}, "`message`"),
    ({"sender": "SENDER", "message": ""}, "`message`"),
    ({"sender": "SENDER", "message": "hi", "metadata": "x"}, "`metadata`"),
    ({"sender": "SENDER", "message": "hi", "metadata": {"note": "\ud800"}}, "`metadata`"),
    ([{"sender": "SENDER", "message": "hi"}], "JSON object"),
    ("SENDER", "JSON object"),
]


def test_malformed_rest_bodies_are_400s_store_nothing_and_rasa_stays_up(shop_stack, tracker_db) -> None:
    sender = new_sender("malformed")
    for payload, error in REST_ATTACKS:
        payload = json.loads(json.dumps(payload).replace("SENDER", sender))
        began = time.monotonic()
        reply = requests.post(shop_stack.rasa_url + REST_PATH, json=payload, headers=rest_headers(), timeout=30)
        assert reply.status_code == 400, (payload if len(str(payload)) < 200 else error, reply.text)
        assert error in reply.json()["error"]
        assert time.monotonic() - began < 5  # refused at the door, not after the NLU pipeline
    for raw in (b"not json", b"[" * 50_000, b'{"sender": "\xed\xbf\xbf", "message": "hi"}', b"\xff\xfe"):
        reply = requests.post(shop_stack.rasa_url + REST_PATH, data=raw,
                              headers={**rest_headers(), "Content-Type": "application/json"}, timeout=30)
        assert reply.status_code == 400, (raw[:40], reply.text)
    too_big = requests.post(shop_stack.rasa_url + REST_PATH, headers=rest_headers(), timeout=30,
                            json={"sender": sender, "message": "hi", "metadata": {"pad": "a" * 100_000}})
    assert too_big.status_code == 413
    with tracker_db.connect() as connection:
        strays = connection.execute(text("SELECT count(*) FROM events WHERE sender_id LIKE :s"),
                                    {"s": f"%{sender}%"}).scalar_one()
    assert strays == 0
    assert_rasa_answers(shop_stack)


def test_the_lone_surrogate_sender_no_longer_stops_rasa(shop_stack, tracker_db) -> None:
    """The report's exact request, repeated: each a 400, and Rasa keeps answering."""
    for _ in range(3):
        reply = requests.post(shop_stack.rasa_url + REST_PATH, json={"sender": "s\udfff", "message": "hello"},
                              headers=rest_headers(), timeout=30)
        assert reply.status_code == 400 and "`sender`" in reply.json()["error"]
    assert stored(tracker_db, "rest:s") == 0
    assert_rasa_answers(shop_stack)


def test_surrogates_smuggled_as_json_escapes_in_an_intent_payload_do_not_stop_rasa(shop_stack) -> None:
    """`/intent{"entity": "\\udfff"}` is plain ASCII text, but Rasa decodes its JSON into a lone surrogate."""
    sender = new_sender("payload")
    for text_ in ('/inform{"email": "\\udfff@example.com"}', '/greet{"name": "\\ud800"}'):
        reply = post_message(shop_stack.rasa_url, sender, text_)
        assert reply.status_code in (200, 400), reply.text
    assert_rasa_answers(shop_stack)


def test_malformed_webhook_bodies_are_400s_and_rasa_stays_up(shop_stack, tracker_db) -> None:
    sender = new_sender("hook")
    attacks = [{"sender": "s\udfff", "message": "hi"}, {"sender": sender, "message": "hi \udfff"},
               {"sender": sender, "message": "a" * 6000}, {"sender": 447700, "message": "hi"},
               {"sender": sender, "message": "hi", "metadata": {"k": "\udfff"}},
               {"sender": sender, "message": "hi", "message_id": {"id": 1}}]
    for payload in attacks:
        reply = signed_webhook(shop_stack, json.dumps(payload).encode())
        assert reply.status_code == 400, (str(payload)[:100], reply.text)
    assert signed_webhook(shop_stack, b"[" * 30_000).status_code == 400
    assert stored(tracker_db, f"webhook:{sender}") == 0
    assert_rasa_answers(shop_stack)


# ---- item 6: the webhook's timestamp and replays ---------------------------------------------------------------


@pytest.mark.parametrize("timestamp", ["9" * 320, "1" * 40, "\u0661\u0662\u0663"])
def test_an_absurd_webhook_timestamp_is_a_clean_401(shop_stack, timestamp: str) -> None:
    body = json.dumps({"sender": new_sender("ts"), "message": "hi"}).encode()
    secret = shop_stack.env()["SHOPDESK_WEBHOOK_SECRET"]
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    reply = requests.post(shop_stack.rasa_url + WEBHOOK_PATH, data=body, timeout=30, headers={
        "X-ShopDesk-Timestamp": timestamp.encode(), "X-ShopDesk-Signature": f"v1={digest}",
        "Content-Type": "application/json"})
    assert reply.status_code == 401, reply.text
    assert "unix seconds" in reply.json()["error"]
    assert_rasa_answers(shop_stack)


def test_webhook_replays_are_refused_from_the_tracker_database(shop_stack, tracker_db) -> None:
    sender = new_sender("replay")
    body = json.dumps({"sender": sender, "message": "hello", "reply": "sync"}).encode()
    timestamp = str(int(time.time()))
    assert signed_webhook(shop_stack, body, timestamp).status_code == 200
    replayed = signed_webhook(shop_stack, body, timestamp)
    assert replayed.status_code == 401 and replayed.json()["error"] == "replayed request"
    with tracker_db.connect() as connection:  # kept where every Rasa process (and a restarted one) sees it
        assert connection.execute(text("SELECT count(*) FROM shopdesk_webhook_seen")).scalar_one() > 0
