"""Connector tests over real HTTP and socket.io: our webhook and web-chat channels in a real Sanic server.

Run in the Rasa environment: .venv/rasa/bin/python -m pytest tests/bot/test_channels.py
"""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
import socketio

from bot.channels.client_ip import client_address, trusted_proxies
from bot.channels.webchat import allowed_origins
from bot.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers
from store.tokens import issue_session_token, verify_session_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-0123456789abcdef"
REST_TOKEN = "rest-token-0123456789abcdef"
SIGNING_KEY = "test-signing-key-0123456789abcdef"
SHOP_ORIGIN = "http://shop.example"
REVOKED = "feedfacefeedfacefeedfacefeedface"
WIDGET_WAITING = "0ddba11c0ffee0ddba11c0ffee0ddba1"  # a widget conversation waiting in the console's queue
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CallbackReceiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        CallbackReceiver.received.append({"headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def callback_url():
    server = HTTPServer(("127.0.0.1", 0), CallbackReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/inbox"
    server.shutdown()


@pytest.fixture(scope="module")
def webchat_env(tmp_path_factory) -> dict:
    """What the web-chat channel reads: signing key, allowed origins, trusted proxies, and a store database
    with one revoked conversation (the table as store/security.py defines it)."""
    import sqlite3

    path = tmp_path_factory.mktemp("webchat") / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE revoked_conversations (conversation_id VARCHAR(255) PRIMARY KEY, "
                   "revoked_at DATETIME NOT NULL)")
        db.execute("INSERT INTO revoked_conversations VALUES (?, '2026-01-01 00:00:00')", (REVOKED,))
        # the console's queue (console/models.py): one conversation waiting for a person, one an agent holds
        db.execute("CREATE TABLE handoffs (id INTEGER PRIMARY KEY, conversation_id VARCHAR(255), status VARCHAR(20))")
        db.executemany("INSERT INTO handoffs (conversation_id, status) VALUES (?, ?)",
                       [("rest:queued-0", "waiting"), ("rest:waiting-1", "waiting"), ("rest:held-1", "claimed"),
                        (WIDGET_WAITING, "waiting")])
        db.execute("CREATE TABLE console_agents (id INTEGER PRIMARY KEY, active BOOLEAN, last_seen_at DATETIME)")
        db.execute("INSERT INTO console_agents (active, last_seen_at) VALUES (1, '2999-01-01 00:00:00.000000')")
    return {"SHOPDESK_SIGNING_KEY": SIGNING_KEY, "SHOPDESK_ALLOWED_ORIGINS": f"{SHOP_ORIGIN},http://localhost:1",
            "SHOPDESK_TRUSTED_PROXIES": "127.0.0.1", "SHOPDESK_DATABASE_URL": f"sqlite:///{path}"}


def start_channel_server(*args: str, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/bot/channel_server.py"), "--port", str(port), "--secret", SECRET, *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode()[-3000:])
        try:
            if requests.get(f"{base}/webhooks/shopdesk_webhook/", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("channel test server did not start")
    return process, base


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def replay_db(tmp_path_factory) -> str:
    """One database for the replay caches of both channel servers, as the tracker database would be."""
    return f"sqlite:///{tmp_path_factory.mktemp('replay') / 'tracker.db'}"


@pytest.fixture(scope="module")
def server(callback_url, replay_db, webchat_env):
    process, base = start_channel_server("--callback-url", callback_url, "--rest-token", REST_TOKEN,
                                         "--replay-db", replay_db, extra_env=webchat_env)
    yield base
    stop(process)


@pytest.fixture(scope="module")
def second_server(replay_db, webchat_env):
    """Another process (another Rasa instance, or the same after a restart): same database, nothing in memory;
    its REST channel is the scale-out profile's."""
    process, base = start_channel_server("--rest-token", REST_TOKEN, "--replay-db", replay_db, "--scaleout-rest",
                                         extra_env=webchat_env)
    yield base
    stop(process)


def post(base: str, payload, *, secret: str = SECRET, timestamp: float | None = None, headers=None,
         raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    sent_headers = headers if headers is not None else signed_headers(secret, body, timestamp)
    return requests.post(f"{base}/webhooks/shopdesk_webhook/webhook", data=body, headers=sent_headers, timeout=10)


def received(base: str) -> list:
    return requests.get(f"{base}/test/received", timeout=5).json()


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


# ---- webhook: authentication ---------------------------------------------------------------------------------


def test_signed_request_is_answered_synchronously(server):
    sender = unique("alice")
    reply = post(server, {"sender": sender, "message": "hello", "reply": "sync"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["conversation_id"] == f"webhook:{sender}"
    assert body["messages"] == [{"text": "echo: hello"}]
    seen = [r for r in received(server) if r["sender"] == f"webhook:{sender}"]
    assert seen[0]["channel"] == "shopdesk_webhook"


def test_wrong_secret_is_rejected_and_never_reaches_the_bot(server):
    sender = unique("mallory")
    reply = post(server, {"sender": sender, "message": "hi", "reply": "sync"}, secret="not-the-secret-at-all-000")
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid signature"
    assert not [r for r in received(server) if r["sender"] == f"webhook:{sender}"]


def test_tampered_body_is_rejected(server):
    good = json.dumps({"sender": "bob", "message": "hi", "reply": "sync"}).encode()
    headers = signed_headers(SECRET, good)
    tampered = json.dumps({"sender": "bob", "message": "cancel everything", "reply": "sync"}).encode()
    reply = post(server, None, raw=tampered, headers=headers)
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid signature"


def test_missing_headers_are_rejected(server):
    reply = post(server, {"sender": "bob", "message": "hi"}, headers={"Content-Type": "application/json"})
    assert reply.status_code == 401
    assert "missing" in reply.json()["error"]


def test_replayed_request_is_rejected(server):
    sender = unique("carol")
    body = json.dumps({"sender": sender, "message": "once", "reply": "sync"}).encode()
    headers = signed_headers(SECRET, body)
    first = post(server, None, raw=body, headers=headers)
    second = post(server, None, raw=body, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["error"] == "replayed request"
    assert len([r for r in received(server) if r["sender"] == f"webhook:{sender}"]) == 1


@pytest.mark.parametrize("skew", [-1000, 1000])
def test_stale_or_future_timestamps_are_rejected(server, skew):
    reply = post(server, {"sender": "dave", "message": "hi", "reply": "sync"}, timestamp=time.time() + skew)
    assert reply.status_code == 401
    assert "timestamp" in reply.json()["error"]


def test_non_numeric_timestamp_is_rejected(server):
    body = json.dumps({"sender": "dave", "message": "hi"}).encode()
    headers = {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: sign(SECRET, "yesterday", body)}
    assert post(server, None, raw=body, headers=headers).status_code == 401


@pytest.mark.parametrize("timestamp", [
    "9" * 320,                      # int(...) - float overflowed: was a 500
    "1" * 13,                       # longer than unix seconds will be for 30,000 years
    "\u0661\u0662\u0663",        # Arabic-Indic digits: str.isdigit() says yes
    "1e10", "-5", "17000000.5",
])
def test_absurd_timestamps_are_a_clean_401(server, timestamp):
    body = json.dumps({"sender": "dave", "message": "hi"}).encode()
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(SECRET, timestamp, body),
               "Content-Type": "application/json"}
    reply = requests.post(f"{server}/webhooks/shopdesk_webhook/webhook", data=body,
                          headers={k: v.encode() for k, v in headers.items()}, timeout=10)
    assert reply.status_code == 401, reply.text
    assert "unix seconds" in reply.json()["error"]


def test_a_replay_to_another_process_is_still_a_replay(server, second_server):
    """Seen signatures live in the shared database: the other instance (or this one restarted) refuses it."""
    sender = unique("kim")
    body = json.dumps({"sender": sender, "message": "once", "reply": "sync"}).encode()
    headers = signed_headers(SECRET, body)
    assert post(server, None, raw=body, headers=headers).status_code == 200
    replayed = post(second_server, None, raw=body, headers=headers)
    assert replayed.status_code == 401 and replayed.json()["error"] == "replayed request"
    assert not [r for r in received(second_server) if r["sender"] == f"webhook:{sender}"]


def test_a_retried_message_id_is_acknowledged_once_across_processes(server, second_server):
    sender = unique("lea")
    body = json.dumps({"sender": sender, "message": "hi", "message_id": "m-7", "reply": "sync"}).encode()
    first = post(server, None, raw=body, headers=signed_headers(SECRET, body))
    retried = post(second_server, None, raw=body, headers=signed_headers(SECRET, body, time.time() + 1))
    assert first.json()["messages"] == [{"text": "echo: hi"}]
    assert retried.status_code == 200 and retried.json()["status"] == "duplicate"
    assert not [r for r in received(second_server) if r["sender"] == f"webhook:{sender}"]
    assert len([r for r in received(server) if r["sender"] == f"webhook:{sender}"]) == 1


def test_replay_keys_are_rows_with_an_expiry(server, replay_db):
    import sqlalchemy as sa

    engine = sa.create_engine(replay_db)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT key, expires_at FROM shopdesk_webhook_seen")).all()
    engine.dispose()
    assert rows and all(len(key) == 64 and expires > time.time() for key, expires in rows)


# ---- webhook: bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, error", [
    (b"not json", "JSON object"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"message": "hi"}).encode(), "`sender`"),
    (json.dumps({"sender": "x", "message": "   "}).encode(), "`message`"),
    (json.dumps({"sender": "x", "message": "hi", "metadata": "nope"}).encode(), "`metadata`"),
    (json.dumps({"sender": "x", "message": "hi", "reply": "email"}).encode(), "`reply`"),
])
def test_signed_but_malformed_bodies_get_clear_400s(server, raw, error):
    reply = post(server, None, raw=raw)
    assert reply.status_code == 400
    assert error in reply.json()["error"]


@pytest.mark.parametrize("payload, error", [
    ({"sender": "s\udfff", "message": "hi"}, "`sender`"),
    ({"sender": "bell\x07", "message": "hi"}, "`sender`"),
    ({"sender": 4477, "message": "hi"}, "`sender`"),
    ({"sender": "x" * 129, "message": "hi"}, "`sender`"),
    ({"sender": "x", "message": "hi \udfff"}, "`message`"),
    ({"sender": "x", "message": ["hi"]}, "`message`"),
    ({"sender": "x", "message": "a" * 5001}, "`message`"),
    ({"sender": "x", "message": "hi", "metadata": {"k": "\ud800"}}, "`metadata`"),
    ({"sender": "x", "message": "hi", "message_id": 7}, "`message_id`"),
    ({"sender": "x", "message": "hi", "message_id": "m" * 129}, "`message_id`"),
    ({"sender": "x", "message": "hi", "customer_token": ["t"]}, "`customer_token`"),
    ({"sender": "x", "message": "hi", "capabilities": "all"}, "`capabilities`"),
])
def test_unstorable_or_mistyped_fields_get_clear_400s(server, payload, error):
    reply = post(server, payload)
    assert reply.status_code == 400, reply.text
    assert error in reply.json()["error"]


def test_absurdly_nested_json_is_a_400(server):
    reply = post(server, None, raw=b"[" * 30000 + b"]" * 30000)
    assert reply.status_code == 400 and "JSON object" in reply.json()["error"]


def test_webhook_client_identity_is_the_backend_user(server):
    sender = unique("mo")
    post(server, {"sender": sender, "message": "hi", "reply": "sync", "metadata": {"shopdesk_client": "1.2.3.4"}})
    seen = [r for r in received(server) if r["sender"] == f"webhook:{sender}"]
    assert seen[0]["metadata"]["shopdesk_client"] == f"webhook:{sender}"


def test_oversized_body_is_refused(server):
    reply = post(server, {"sender": "x", "message": "a" * 70000})
    assert reply.status_code == 413


def test_bot_failure_is_a_clear_500(server):
    reply = post(server, {"sender": unique("erin"), "message": "fail", "reply": "sync"})
    assert reply.status_code == 500
    assert "try again" in reply.json()["error"]


# ---- webhook: rich messages ----------------------------------------------------------------------------------


def test_rich_messages_degrade_to_text_for_text_only_backends(server):
    sender = unique("frank")
    reply = post(server, {"sender": sender, "message": "rich", "reply": "sync"})
    messages = reply.json()["messages"]
    assert all(set(m) == {"text"} for m in messages), messages
    texts = [m["text"] for m in messages]
    assert "Pick one:" in texts[0] and "1. Track my order" in texts[0] and "2. Talk to a person" in texts[0]
    assert any("Red Retrospot Charlotte Bag — £0.85" in t for t in texts)
    assert any(t == "Image: https://shop.example/img/1.png" for t in texts)

    # "1" answers the numbered options: the bot gets the button's payload
    post(server, {"sender": sender, "message": "1", "reply": "sync"})
    texts_seen = [r["text"] for r in received(server) if r["sender"] == f"webhook:{sender}"]
    assert texts_seen == ["rich", "/track_order"]


def test_rich_messages_pass_through_for_capable_backends(server):
    capabilities = {"buttons": True, "cards": True, "images": True}
    reply = post(server, {"sender": unique("gina"), "message": "rich", "reply": "sync", "capabilities": capabilities})
    messages = reply.json()["messages"]
    assert messages[0]["buttons"][0] == {"title": "Track my order", "payload": "/track_order"}
    carousel = next(m["custom"] for m in messages if "custom" in m)
    assert carousel["type"] == "product_carousel" and carousel["products"][0]["sku"] == "20724"
    assert any(m.get("image") == "https://shop.example/img/1.png" for m in messages)


# ---- webhook: customers, idempotency, callbacks --------------------------------------------------------------


def test_customer_token_is_passed_as_metadata_and_remembered_for_the_sender(server):
    sender = unique("hana")
    post(server, {"sender": sender, "message": "first", "customer_token": "signed.token.value", "reply": "sync",
                  "metadata": {"locale": "en"}})
    post(server, {"sender": sender, "message": "second", "reply": "sync"})
    seen = [r for r in received(server) if r["sender"] == f"webhook:{sender}"]
    assert [r["metadata"]["customer_token"] for r in seen] == ["signed.token.value"] * 2
    assert seen[0]["metadata"]["locale"] == "en"
    assert seen[0]["metadata"]["webhook"]["sender"] == sender


def test_repeated_message_id_is_processed_once(server):
    sender = unique("ivan")
    body = json.dumps({"sender": sender, "message": "hi", "message_id": "m-1", "reply": "sync"}).encode()
    headers = signed_headers(SECRET, body)
    first = post(server, None, raw=body, headers=headers)
    identical = post(server, None, raw=body, headers=headers)                   # same bytes, same signature
    resigned = post(server, None, raw=body, headers=signed_headers(SECRET, body, time.time() + 2))
    assert first.json()["messages"] == [{"text": "echo: hi"}]
    for again in (identical, resigned):
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len([r for r in received(server) if r["sender"] == f"webhook:{sender}"]) == 1
    assert received(server)[-1]["message_id"] == "m-1"


def test_callback_replies_are_posted_signed(server):
    sender = unique("judy")
    before = len(CallbackReceiver.received)
    reply = post(server, {"sender": sender, "message": "rich", "reply": "callback"})
    assert reply.status_code == 202 and reply.json()["status"] == "accepted"
    deadline = time.time() + 15
    while time.time() < deadline and len(CallbackReceiver.received) < before + 4:
        time.sleep(0.1)
    calls = CallbackReceiver.received[before:]
    assert len(calls) == 4
    for call in calls:
        timestamp = call["headers"][TIMESTAMP_HEADER]
        assert call["headers"][SIGNATURE_HEADER] == sign(SECRET, timestamp, call["body"])
    bodies = [json.loads(c["body"]) for c in calls]
    assert {b["recipient"] for b in bodies} == {sender}
    assert "1. Track my order" in bodies[0]["message"]["text"]


# ---- REST (the shop's backend) -------------------------------------------------------------------------------

REST = "/webhooks/shopdesk_rest/webhook"


def rest(base: str, payload=None, *, token: str | None = REST_TOKEN, raw: bytes | None = None, headers=None):
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if raw is None:
        return requests.post(base + REST, json=payload, headers=sent, timeout=10)
    return requests.post(base + REST, data=raw, headers={"Content-Type": "application/json", **sent}, timeout=10)


def rest_received(base: str, sender: str) -> list:
    return [r for r in received(base) if r["sender"] == f"rest:{sender}"]


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token-0123456789abcdef"},
    {"Authorization": f"Basic {REST_TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Bearer {REST_TOKEN[:-1]}"},
])
def test_rest_without_the_token_is_a_401_and_reaches_nobody(server, headers):
    sender = unique("nobody")
    reply = rest(server, {"sender": sender, "message": "hi"}, token=None, headers=headers)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == "Bearer"
    assert "error" in reply.json()
    assert not rest_received(server, sender)


def test_rest_answers_in_rasa_shape_in_a_rest_conversation(server):
    sender = unique("olga")
    reply = rest(server, {"sender": sender, "message": "hello", "input_channel": "socketio",
                          "metadata": {"customer_token": "signed.token", "shopdesk_client": "10.9.9.9"}})
    assert reply.status_code == 200, reply.text
    assert reply.json() == [{"recipient_id": f"rest:{sender}", "text": "echo: hello"}]  # Rasa's REST answer
    seen = rest_received(server, sender)
    assert len(seen) == 1 and seen[0]["channel"] == "shopdesk_rest"         # no posing as another channel
    # a client-sent shopdesk_client is dropped; the backend's own address is no customer's client
    assert seen[0]["metadata"] == {"customer_token": "signed.token"}


def test_a_message_the_paused_bot_leaves_unanswered_is_acknowledged_while_waiting(server):
    """Never an empty reply while the customer waits for a person; none once an agent holds the chat."""
    reply = rest(server, {"sender": "waiting-1", "message": "silent"})  # the scripted bot says nothing
    assert reply.status_code == 200, reply.text
    [ack] = reply.json()
    assert "passed to our customer service team" in ack["text"] and "number 2 in the queue" in ack["text"]
    assert rest(server, {"sender": "held-1", "message": "silent"}).json() == []  # the agent answers
    assert rest(server, {"sender": unique("nobody"), "message": "silent"}).json() == []  # no handoff at all
    assert rest(server, {"sender": "waiting-1", "message": "hi"}).json()[0]["text"] == "echo: hi"


def test_rest_client_identity_comes_from_the_backend_header(server):
    sender = unique("pia")
    rest(server, {"sender": sender, "message": "hi"}, headers={"X-ShopDesk-Client": "203.0.113.9"})
    assert rest_received(server, sender)[0]["metadata"]["shopdesk_client"] == "203.0.113.9"


@pytest.mark.parametrize("sender", ["webhook:+447700900123", "0123456789abcdef0123456789abcdef", "rest:x"])
def test_rest_cannot_address_another_channels_conversation(server, sender):
    assert rest(server, {"sender": sender, "message": "show my orders"}).status_code == 200
    ids = [r["sender"] for r in received(server)]
    assert f"rest:{sender}" in ids and sender not in ids


@pytest.mark.parametrize("payload, error", [
    ([{"sender": "x", "message": "hi"}], "JSON object"),
    ("hi", "JSON object"),
    ({"message": "hi"}, "`sender`"),
    ({"sender": None, "message": "hi"}, "`sender`"),
    ({"sender": 4477, "message": "hi"}, "`sender`"),
    ({"sender": ["x"], "message": "hi"}, "`sender`"),
    ({"sender": "", "message": "hi"}, "`sender`"),
    ({"sender": "   ", "message": "hi"}, "`sender`"),
    ({"sender": "x" * 129, "message": "hi"}, "`sender`"),
    ({"sender": "s\udfff", "message": "hi"}, "`sender`"),
    ({"sender": "tab\there", "message": "hi"}, "`sender`"),
    ({"sender": "x"}, "`message`"),
    ({"sender": "x", "message": None}, "`message`"),
    ({"sender": "x", "message": 42}, "`message`"),
    ({"sender": "x", "message": {"text": "hi"}}, "`message`"),
    ({"sender": "x", "message": ""}, "`message`"),
    ({"sender": "x", "message": " \n "}, "`message`"),
    ({"sender": "x", "message": "a" * 5001}, "`message`"),
    ({"sender": "x", "message": "where is \udfff my order"}, "`message`"),
    ({"sender": "x", "message": "nul\x00"}, "`message`"),
    ({"sender": "x", "message": "hi", "metadata": "token"}, "`metadata`"),
    ({"sender": "x", "message": "hi", "metadata": [1]}, "`metadata`"),
    ({"sender": "x", "message": "hi", "metadata": {"\udfff": 1}}, "`metadata`"),
])
def test_rest_malformed_bodies_get_clear_400s(server, payload, error):
    reply = rest(server, payload)
    assert reply.status_code == 400, reply.text
    assert error in reply.json()["error"]


@pytest.mark.parametrize("raw, error", [
    (b"", "JSON object"),
    (b"not json", "JSON object"),
    (b'{"sender": "x", "message": "hi"', "JSON object"),
    (b"\xff\xfe{}", "JSON object"),
    (b"[" * 50000, "JSON object"),
    (b'{"sender": "\xed\xbf\xbf", "message": "hi"}', "`sender`"),   # a surrogate encoded as raw UTF-8 bytes
    (b'{"sender": "x", "message": "hi \xed\xa0\x80"}', "`message`"),
])
def test_rest_unparseable_bodies_get_clear_400s(server, raw, error):
    reply = rest(server, raw=raw)
    assert reply.status_code == 400, reply.text
    assert error in reply.json()["error"]


def test_rest_oversized_body_is_refused(server):
    reply = rest(server, {"sender": "x", "message": "hi", "metadata": {"pad": "a" * 70000}})
    assert reply.status_code == 413


def test_rest_boundary_message_is_taken(server):
    sender = unique("quinn")
    assert rest(server, {"sender": sender, "message": "a" * 5000}).status_code == 200
    assert len(rest_received(server, sender)[0]["text"]) == 5000


def test_rest_bot_failure_is_a_clear_500_not_an_empty_list(server):
    reply = rest(server, {"sender": unique("rae"), "message": "fail"})
    assert reply.status_code == 500 and "try again" in reply.json()["error"]


def test_rest_disabled_without_a_configured_token(monkeypatch):
    from types import SimpleNamespace

    from bot.channels.rest import RestWithMetadata
    from bot.channels.validation import InvalidRequest

    monkeypatch.delenv("SHOPDESK_REST_TOKEN", raising=False)
    for channel in (RestWithMetadata.from_credentials(None), RestWithMetadata(token="short")):
        request = SimpleNamespace(headers={"Authorization": "Bearer short"})
        with pytest.raises(InvalidRequest) as refused:
            channel.authenticate(request)
        assert refused.value.status == 503 and "disabled" in str(refused.value)
    monkeypatch.setenv("SHOPDESK_REST_TOKEN", REST_TOKEN)
    authorized = SimpleNamespace(headers={"Authorization": f"bearer {REST_TOKEN}"})
    RestWithMetadata.from_credentials({}).authenticate(authorized)  # the scheme is case-insensitive


def test_scaleout_rest_is_authenticated_prefixed_and_graceful(second_server):
    sender = unique("sam")
    assert rest(second_server, {"sender": sender, "message": "hi"}, token="wrong-token-0123456789").status_code == 401
    assert rest(second_server, {"sender": "s\udfff", "message": "hi"}).status_code == 400
    reply = rest(second_server, {"sender": sender, "message": "hi"})
    assert reply.status_code == 200 and reply.json()[0]["recipient_id"] == f"rest:{sender}"
    failed = rest(second_server, {"sender": sender, "message": "fail"})
    assert failed.status_code == 200 and "trouble reaching our systems" in failed.json()[0]["text"]


# ---- the replay store --------------------------------------------------------------------------------------------


def test_replay_store_is_the_tracker_database_from_the_environment(tmp_path):
    from bot.channels.seen_keys import MemorySeenKeys, SqlSeenKeys, seen_keys_for, tracker_database_url

    sqlite = tracker_database_url({"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(tmp_path / "t.db")})
    assert str(sqlite) == f"sqlite:///{tmp_path / 't.db'}"
    scaleout = tracker_database_url({"TRACKER_DB_HOST": "db.internal", "TRACKER_DB_PORT": "5432",
                                     "TRACKER_DB": "tracker", "TRACKER_DB_USER": "shop"})
    assert str(scaleout) == "postgresql://shop@db.internal:5432/tracker"
    assert tracker_database_url({}) is None
    store = seen_keys_for(sqlite)
    assert isinstance(store, SqlSeenKeys)
    assert store.add("k", 1000.0, 10) and not store.add("k", 1005.0, 10)
    assert SqlSeenKeys(sqlite).add("k", 1011.0, 10)       # expired: taken again, by another instance too
    memory = MemorySeenKeys()
    assert memory.add("k", 0, 5) and not memory.add("k", 4, 5) and memory.add("k", 6, 5)


# ---- the web chat (socket.io) channel ------------------------------------------------------------------------


def session_token(session_id: str) -> str:
    return issue_session_token(session_id, key=SIGNING_KEY)


def test_webchat_acknowledges_dedupes_and_delivers_custom_payloads(server):
    async def scenario() -> dict:
        client = socketio.AsyncClient(reconnection=False)
        bot_messages: list = []
        confirmed = asyncio.Event()
        client.on("bot_uttered", lambda data: bot_messages.append(data))

        async def on_confirm(session_id):
            confirmed.session_id = session_id
            confirmed.set()

        client.on("session_confirm", on_confirm)
        # polling: this python-socketio client's websocket transport needs a newer aiohttp than Rasa pins
        await client.connect(server, socketio_path="/socket.io", transports=["polling"])
        session_id = uuid.uuid4().hex
        await client.emit("session_request", {"session_id": session_id, "session_token": session_token(session_id)})
        await asyncio.wait_for(confirmed.wait(), 10)
        payload = {"message": "hello", "session_id": session_id, "message_id": "client-1",
                   "customData": {"customer_token": "tok", "display_text": "Hello!", "shopdesk_client": "1.2.3.4"}}
        first_ack = await client.call("user_uttered", payload, timeout=10)
        second_ack = await client.call("user_uttered", payload, timeout=10)     # a re-send after a lost ack
        rich_ack = await client.call("user_uttered", {"message": "rich", "session_id": session_id,
                                                      "message_id": "client-2"}, timeout=10)
        bad_ack = await client.call("user_uttered", {"message": "", "session_id": session_id}, timeout=10)
        empty_ack = await client.call("user_uttered", timeout=10)               # an emit with no data at all
        assert empty_ack["status"] == "rejected"
        deadline = time.time() + 10
        while time.time() < deadline and len(bot_messages) < 5:
            await asyncio.sleep(0.1)
        with contextlib.suppress(asyncio.TimeoutError):   # a polling disconnect waits out the long-poll
            await asyncio.wait_for(client.disconnect(), 1)
        return {"session_id": confirmed.session_id, "acks": [first_ack, second_ack, rich_ack, bad_ack],
                "bot": bot_messages, "requested": session_id}

    result = asyncio.run(scenario())
    assert result["session_id"] == result["requested"]
    first, second, rich, bad = result["acks"]
    assert first == {"status": "received", "message_id": "client-1"}
    assert second == {"status": "duplicate", "message_id": "client-1"}
    assert rich["status"] == "received"
    assert bad["status"] == "rejected"
    bot = result["bot"]
    assert bot[0] == {"text": "echo: hello"}
    assert bot[1]["quick_replies"][0]["payload"] == "/track_order"
    assert bot[2] == {"text": "Here are a few ideas for you:"}
    assert bot[3]["custom"]["type"] == "product_carousel"
    assert bot[4] == {"attachment": {"type": "image", "payload": {"src": "https://shop.example/img/1.png"}}}
    seen = [r for r in received(server) if r["sender"] == result["requested"]]
    assert [r["text"] for r in seen] == ["hello", "rich"]                     # the repeat was not processed
    assert seen[0]["message_id"] == "client-1"
    # shopdesk_client is the channel's, never the client's: here the test client's own address
    assert seen[0]["metadata"] == {"customer_token": "tok", "display_text": "Hello!", "shopdesk_client": "127.0.0.1"}
    assert seen[0]["channel"] == "socketio"


# ---- the web chat channel: nobody joins a conversation they were not given ----------------------------------


class ChatClient:
    """One socket.io client: what it was confirmed into, the tokens it was handed, the bot messages it saw."""

    def __init__(self, headers: dict | None = None) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.headers = headers or {}
        self.confirmed: list = []
        self.tokens: list = []
        self.bot: list = []
        self.sio.on("session_confirm", lambda data: self.confirmed.append(data))
        self.sio.on("session_token", lambda data: self.tokens.append(data))
        self.sio.on("bot_uttered", lambda data: self.bot.append(data))

    async def connect(self, base: str) -> None:
        await self.sio.connect(base, socketio_path="/socket.io", transports=["polling"], headers=self.headers)

    async def request(self, session_id, token=None) -> str:
        count = len(self.confirmed)
        await self.sio.emit("session_request", {"session_id": session_id, "session_token": token})
        deadline = time.time() + 10
        while len(self.confirmed) == count and time.time() < deadline:
            await asyncio.sleep(0.05)
        return self.confirmed[-1]

    async def say(self, text: str, session_id: str) -> dict:
        return await self.sio.call("user_uttered", {"message": text, "session_id": session_id}, timeout=10)

    async def close(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.sio.disconnect(), 1)


def test_webchat_names_the_agent_of_an_agents_message(server):
    async def scenario() -> list:
        client = ChatClient()
        await client.connect(server)
        session_id = uuid.uuid4().hex
        await client.request(session_id, session_token(session_id))
        await client.say("agent", session_id)
        deadline = time.time() + 10
        while time.time() < deadline and len(client.bot) < 4:
            await asyncio.sleep(0.1)
        await client.close()
        return client.bot

    bot = asyncio.run(scenario())
    assert bot[0] == {"text": "Hi, Sam here.", "agent": "Sam"}
    assert bot[1]["agent"] == "Sam" and bot[1]["quick_replies"][0]["payload"] == "/affirm"
    assert bot[2] == {"text": "Sam joined.", "agent": "system"}
    assert bot[3] == {"text": "the assistant"}


def test_webchat_joins_a_conversation_only_with_its_session_token(server):
    victim_id = uuid.uuid4().hex

    async def scenario() -> dict:
        victim, thief = ChatClient(), ChatClient()
        await victim.connect(server)
        await thief.connect(server)
        joined = await victim.request(victim_id, session_token(victim_id))
        other = uuid.uuid4().hex
        forged = session_token(victim_id)[:-4] + "AAAA"
        attempts = {
            "absent": await thief.request(victim_id),
            "forged": await thief.request(victim_id, forged),
            "for another id": await thief.request(victim_id, session_token(other)),
            "wrong key": await thief.request(victim_id, issue_session_token(victim_id, key="x" * 32)),
            "not a token": await thief.request(victim_id, {"session_id": victim_id}),
            "revoked": await thief.request(REVOKED, session_token(REVOKED)),
            "not a widget id": await thief.request("rest:alice", session_token("rest:alice")),
        }
        thief_id = thief.confirmed[-1]
        stolen = await thief.say("my orders please", victim_id)     # names the victim's conversation
        own = await victim.say("hello", victim_id)
        deadline = time.time() + 10
        while time.time() < deadline and not victim.bot:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        resumed = ChatClient()                # the thief's own new conversation is resumable with its token
        await resumed.connect(server)
        again = await resumed.request(thief_id, thief.tokens[-1]["session_token"])
        for client in (victim, thief, resumed):
            await client.close()
        return {"joined": joined, "attempts": attempts, "thief_id": thief_id, "stolen": stolen, "own": own,
                "victim_bot": victim.bot, "thief_bot": thief.bot, "thief_tokens": thief.tokens, "again": again}

    result = asyncio.run(scenario())
    assert result["joined"] == victim_id
    minted = list(result["attempts"].values())
    assert victim_id not in minted and REVOKED not in minted and "rest:alice" not in minted
    assert len(set(minted)) == len(minted) and all(len(m) == 32 for m in minted)
    # every confirm came with a token for exactly the id confirmed, which the client can resume with
    assert [verify_session_token(t["session_token"], key=SIGNING_KEY) for t in result["thief_tokens"]] == \
        [t["session_id"] for t in result["thief_tokens"]] == minted
    assert result["again"] == result["thief_id"]
    assert result["stolen"]["status"] == "rejected"
    assert result["own"]["status"] == "received"
    assert result["victim_bot"] == [{"text": "echo: hello"}] and result["thief_bot"] == []
    texts = {r["text"]: r["sender"] for r in received(server) if r["sender"] in (victim_id, result["thief_id"])}
    assert texts == {"hello": victim_id}


def test_webchat_acknowledges_a_message_the_paused_bot_leaves_unanswered(server):
    async def scenario() -> list:
        client = ChatClient()
        await client.connect(server)
        await client.request(WIDGET_WAITING, session_token(WIDGET_WAITING))
        await client.say("silent", WIDGET_WAITING)
        deadline = time.time() + 10
        while time.time() < deadline and not client.bot:
            await asyncio.sleep(0.1)
        await client.close()
        return client.bot

    [ack] = asyncio.run(scenario())
    assert "passed to our customer service team" in ack["text"] and "in the queue" in ack["text"]


def test_webchat_checks_the_origin_of_browsers(server):
    async def connect(origin: str | None) -> bool:
        client = ChatClient({"Origin": origin} if origin else {})
        try:
            await client.connect(server)
        except socketio.exceptions.ConnectionError:
            return False
        await client.close()
        return True

    async def scenario() -> dict:
        return {origin: await connect(origin) for origin in (SHOP_ORIGIN, "http://evil.example", "null", None)}

    assert asyncio.run(scenario()) == {SHOP_ORIGIN: True, "http://evil.example": False, "null": False, None: True}


def test_webchat_client_address_comes_from_the_connection(server):
    session_id = uuid.uuid4().hex

    async def scenario() -> None:
        client = ChatClient({"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})  # via our trusted 127.0.0.1
        await client.connect(server)
        await client.request(session_id, session_token(session_id))
        await client.sio.call("user_uttered", {"message": "who am i", "session_id": session_id,
                                               "customData": {"shopdesk_client": "10.0.0.1"}}, timeout=10)
        await client.close()

    asyncio.run(scenario())
    (seen,) = [r for r in received(server) if r["sender"] == session_id]
    assert seen["metadata"]["shopdesk_client"] == "198.51.100.7"


def test_client_address_trusts_forwarded_for_only_from_trusted_proxies():
    proxies = trusted_proxies("127.0.0.1, 10.0.0.0/8, not-an-address")
    assert client_address("127.0.0.1", None, proxies) == "127.0.0.1"
    assert client_address("198.51.100.1", "1.2.3.4", proxies) == "198.51.100.1"          # untrusted peer
    assert client_address("127.0.0.1", "1.2.3.4, 10.1.1.1", proxies) == "1.2.3.4"         # two trusted hops
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4", proxies) == "1.2.3.4"          # left part is the client's
    assert client_address("127.0.0.1", "garbage", proxies) == "127.0.0.1"
    assert client_address("::1", "1.2.3.4", trusted_proxies("")) == "::1"
    assert client_address("127.0.0.1", "[2001:db8::1]:443", proxies) == "2001:db8::1"


def test_allowed_origins_never_disable_the_check():
    assert allowed_origins("") is None                       # none: python-socketio's [] would mean "any"
    assert allowed_origins(" http://a.example/ , http://b.example") == ["http://a.example", "http://b.example"]
    assert allowed_origins("*") == "*"


# ---- documentation ----------------------------------------------------------------------------------------------


def test_documented_credentials_create_their_channels(monkeypatch):
    """Every credentials.yml example in docs/channels.md builds its channel (built-in or ours)."""
    import importlib
    import re

    import yaml
    from rasa.core.channels import BUILTIN_CHANNELS

    docs = (ROOT / "docs" / "channels.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.S)
    assert len(blocks) >= 2
    names = set()
    for block in blocks:
        text = re.sub(r"\$\{(\w+)\}", lambda m: f"dummy-{m.group(1).lower()}-0123456789abcdef", block)
        for key, credentials in (yaml.safe_load(text) or {}).items():
            if key in BUILTIN_CHANNELS:
                channel_class = BUILTIN_CHANNELS[key]
            else:
                module, _, name = key.rpartition(".")
                channel_class = getattr(importlib.import_module(module), name)
            channel = channel_class.from_credentials(credentials)
            names.add(channel.name())
    assert {"telegram", "slack", "facebook", "twilio", "socketio", "shopdesk_webhook", "shopdesk_rest"} <= names
