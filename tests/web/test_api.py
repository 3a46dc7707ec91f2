"""The widget's API: session bootstrap, conversations, history from Rasa, image attachments, assets."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.attachments import Attachment, open_return_request_id
from store.db import make_engine
from store.security import is_revoked, throttle_key
from store.tokens import verify_customer_token, verify_session_token
from tests.web.conftest import RASA_TOKEN, SIGNING_KEY, csrf, sign_in
from web.catalog import demo_shoppers
from web.transcript import transcript

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64


def upload(client, data: bytes, name: str = "photo.png", token: str | None = None):
    headers = {"X-ShopDesk-CSRF": token if token is not None else csrf(client)}
    return client.post("/api/attachments", data={"image": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


# ---- session ------------------------------------------------------------------------------------------------


def test_anonymous_session_has_a_conversation_but_no_customer_token(client):
    body = client.get("/api/session").get_json()
    assert len(body["conversation_id"]) == 32
    assert body["customer"] is None and body["customer_token"] is None
    assert body["socket"] == {"url": "http://127.0.0.1:5005", "path": "/socket.io/"}
    assert body["upload"]["types"] == ["image/gif", "image/jpeg", "image/png", "image/webp"]
    assert client.get("/api/session").get_json()["conversation_id"] == body["conversation_id"]
    assert RASA_TOKEN not in client.get("/api/session").get_data(as_text=True)


def test_signed_in_session_carries_a_verifiable_customer_token(client):
    customer_id = sign_in(client, 0)
    body = client.get("/api/session").get_json()
    cid = body["conversation_id"]
    assert body["customer"]["name"]
    assert verify_customer_token(body["customer_token"], cid, key=SIGNING_KEY) == customer_id
    assert verify_customer_token(body["customer_token"], cid, key="another-key-0123456789") is None
    assert verify_customer_token(body["customer_token"], "0" * 32, key=SIGNING_KEY) is None  # other chats


def test_session_token_names_the_cookie_conversation(client):
    body = client.get("/api/session").get_json()
    assert verify_session_token(body["session_token"], key=SIGNING_KEY) == body["conversation_id"]
    assert verify_session_token(body["session_token"], key="another-key-0123456789") is None


def test_new_conversation_needs_csrf_and_replaces_the_id(client):
    first = client.get("/api/session").get_json()["conversation_id"]
    assert client.post("/api/conversations").status_code == 403
    response = client.post("/api/conversations", headers={"X-ShopDesk-CSRF": csrf(client)})
    assert response.status_code == 201
    new = response.get_json()
    assert new["conversation_id"] != first
    assert verify_session_token(new["session_token"], key=SIGNING_KEY) == new["conversation_id"]
    assert new["customer_token"] is None
    assert client.get("/api/session").get_json()["conversation_id"] == new["conversation_id"]


def test_new_conversation_of_a_shopper_gets_a_token_for_the_new_id(client):
    customer_id = sign_in(client, 0)
    new = client.post("/api/conversations", headers={"X-ShopDesk-CSRF": csrf(client)}).get_json()
    assert verify_customer_token(new["customer_token"], new["conversation_id"], key=SIGNING_KEY) == customer_id


def test_a_copied_cookie_of_a_revoked_conversation_starts_afresh(client, store_url):
    sign_in(client, 0)
    old = client.get("/api/session").get_json()["conversation_id"]
    cookie = client.get_cookie("shopdesk_session").value
    client.post("/signout", data={"csrf_token": csrf(client)})
    with Session(make_engine(store_url)) as s:
        assert is_revoked(s, old)
    replay = client.application.test_client()
    replay.set_cookie("shopdesk_session", cookie)
    body = replay.get("/api/session").get_json()
    assert body["conversation_id"] != old and body["customer"] is not None   # still signed in, new chat
    assert verify_customer_token(body["customer_token"], old, key=SIGNING_KEY) is None


# ---- history ------------------------------------------------------------------------------------------------

EVENTS = [
    {"event": "action", "name": "action_session_start", "timestamp": 1.0},
    {"event": "session_started", "timestamp": 1.0},
    {"event": "user", "text": "/track_order", "timestamp": 2.0, "message_id": "m1",
     "metadata": {"display_text": "Where is my order?", "customer_token": "secret-token"},
     "parse_data": {"intent": {"name": "track_order"}}},
    {"event": "slot", "name": "customer_id", "value": "10001", "timestamp": 2.1},
    {"event": "bot", "text": "Order **581585** is being prepared.", "timestamp": 3.0,
     "data": {"buttons": [{"title": "Cancel it", "payload": "/cancel_order"}]}},
    {"event": "bot", "text": "Here are a few ideas for you:", "timestamp": 4.0,
     "data": {"custom": {"type": "product_carousel", "text": "1. Bag", "products": [{"sku": "20724"}]}}},
    {"event": "user", "text": "/share_image", "timestamp": 5.0, "message_id": "m2",
     "metadata": {"display_text": "", "attachment": {"type": "image", "url": "/uploads/abc.png"}}},
    {"event": "user", "text": "look", "timestamp": 6.0, "message_id": "m3",
     "metadata": {"attachment": {"type": "image", "url": "https://evil.example/x.png"}}},
    {"event": "bot", "text": None, "timestamp": 7.0, "data": {"attachment": {"type": "image",
                                                                              "payload": {"src": "/img/a.png"}}}},
    {"event": "bot", "text": None, "timestamp": 8.0, "data": {}},
]


def test_history_returns_only_messages_of_the_cookie_conversation(client, fake_rasa):
    cid = client.get("/api/session").get_json()["conversation_id"]
    fake_rasa.trackers[cid] = EVENTS
    fake_rasa.trackers["someone-else"] = [{"event": "user", "text": "my secret", "timestamp": 1.0}]
    response = client.get("/api/history?conversation_id=someone-else")
    assert response.status_code == 200
    body = response.get_json()
    assert body["conversation_id"] == cid
    assert fake_rasa.requests[-1]["path"] == f"/conversations/{cid}/tracker"
    assert fake_rasa.requests[-1]["query"]["token"] == [RASA_TOKEN]
    text = response.get_data(as_text=True)
    assert "my secret" not in text and RASA_TOKEN not in text and "secret-token" not in text
    assert "customer_id" not in text and "track_order\"" not in text.replace("/track_order", "")
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "bot", "bot", "user", "user", "bot"]
    assert messages[0] == {"role": "user", "text": "Where is my order?", "message_id": "m1", "timestamp": 2.0}
    assert messages[1]["buttons"] == [{"title": "Cancel it", "payload": "/cancel_order"}]
    assert messages[2]["custom"]["type"] == "product_carousel"
    assert messages[3]["image"] == "/uploads/abc.png" and messages[3]["text"] == ""
    assert "image" not in messages[4]                       # only our own upload URLs become user images
    assert messages[5]["image"] == "/img/a.png"


def test_history_is_a_clear_503_when_rasa_is_down(client, fake_rasa):
    fake_rasa.close()
    fake_rasa.server.server_close()
    response = client.get("/api/history")
    assert response.status_code == 503
    assert response.get_json()["error"] == "The conversation history is unavailable right now."


def test_history_is_a_503_when_rasa_refuses_the_token(app, client):
    app.config["SHOPDESK_RASA_AUTH_TOKEN"] = "wrong"
    assert client.get("/api/history").status_code == 503


def test_history_shows_a_button_title_only_for_a_button_payload():
    """display_text comes from the client: it may stand for a payload ("/affirm"), never for text the bot read."""
    events = [
        {"event": "user", "text": "/affirm", "timestamp": 1.0, "metadata": {"display_text": "Yes"}},
        {"event": "user", "text": "cancel order 581585", "timestamp": 2.0,
         "metadata": {"display_text": "I love this shop, no action needed"}},
        {"event": "user", "text": "/deny", "timestamp": 3.0, "metadata": {"display_text": 42}},
        {"event": "user", "text": "/deny", "timestamp": 4.0, "metadata": {"display_text": "x" * 201}},
        {"event": "user", "text": "hello", "timestamp": 5.0, "metadata": {"display_text": ""}},
    ]
    assert [m["text"] for m in transcript(events)] == ["Yes", "cancel order 581585", "/deny", "/deny", "hello"]


def test_transcript_caps_its_length():
    events = [{"event": "user", "text": f"m{i}", "timestamp": i} for i in range(400)]
    messages = transcript(events)
    assert len(messages) == 300 and messages[-1]["text"] == "m399"


# ---- attachments --------------------------------------------------------------------------------------------


def test_image_upload_is_stored_recorded_and_linked_to_the_open_return(client, app, store_url):
    engine = make_engine(store_url)
    with Session(engine) as s:
        shoppers = demo_shoppers(s)
        index = next(i for i, c in enumerate(shoppers) if open_return_request_id(s, c.id))  # the fixture's return
    customer_id = sign_in(client, index)
    cid = client.get("/api/session").get_json()["conversation_id"]

    response = upload(client, PNG, "broken mug.png")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"].startswith("/uploads/") and body["url"].endswith(".png")
    assert body["content_type"] == "image/png" and body["name"] == "broken mug.png"
    stored = Path(app.config["SHOPDESK_UPLOAD_DIR"]) / body["url"].rsplit("/", 1)[1]
    assert stored.read_bytes() == PNG
    with Session(engine) as s:
        row = s.scalar(select(Attachment).where(Attachment.id == body["id"]))
        assert row.conversation_id == cid and row.customer_id == customer_id
        assert row.return_request_id == open_return_request_id(s, customer_id) == body["return_request_id"]

    served = client.get(body["url"])
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    stranger = client.application.test_client()
    assert stranger.get(body["url"]).status_code == 404


def test_anonymous_upload_is_linked_to_the_conversation_only(client, store_url):
    cid = client.get("/api/session").get_json()["conversation_id"]
    for data, kind in ((JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif")):
        response = upload(client, data, "x.bin")
        assert response.status_code == 201 and response.get_json()["content_type"] == kind
        assert response.get_json()["return_request_id"] is None
    with Session(make_engine(store_url)) as s:
        rows = s.scalars(select(Attachment).where(Attachment.conversation_id == cid)).all()
        assert len(rows) == 3 and all(r.customer_id is None for r in rows)


def test_bad_uploads_get_clear_errors_and_store_nothing(client, app):
    token = csrf(client)
    cases = [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg", 415, "Only PNG"),
        (b"just text pretending", "fake.png", 415, "Only PNG"),
        (b"", "empty.png", 400, "empty"),
        (PNG + b"\x00" * (64 * 1024), "big.png", 413, "too large"),
    ]
    for data, name, status, message in cases:
        response = upload(client, data, name, token)
        assert response.status_code == status, (name, response.get_json())
        assert message in response.get_json()["error"]
    assert upload(client, PNG, token="wrong").status_code == 403
    missing = client.post("/api/attachments", headers={"X-ShopDesk-CSRF": token})
    assert missing.status_code == 400 and missing.get_json()["error"] == "Choose an image to attach."
    upload_dir = Path(app.config["SHOPDESK_UPLOAD_DIR"])
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_oversized_request_bodies_are_refused_before_reading(client):
    response = upload(client, PNG + b"\x00" * (200 * 1024), "huge.png")
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]


def test_attachments_per_conversation_are_limited(app, client):
    app.config["SHOPDESK_MAX_ATTACHMENTS_PER_CONVERSATION"] = 2
    token = csrf(client)
    assert [upload(client, PNG, token=token).status_code for _ in range(3)] == [201, 201, 429]


def test_attachments_per_client_are_limited_across_conversations(app, client, store_url):
    app.config["SHOPDESK_MAX_ATTACHMENTS_PER_CLIENT"] = 3
    statuses = []
    for _ in range(4):   # a new conversation each time: the per-conversation cap never applies
        client.post("/api/conversations", headers={"X-ShopDesk-CSRF": csrf(client)})
        statuses.append(upload(client, PNG))
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    assert "most images allowed" in statuses[-1].get_json()["error"]
    with Session(make_engine(store_url)) as s:
        keys = s.scalars(select(Attachment.client_key)).all()
    assert keys == [throttle_key("client", "127.0.0.1")] * 3      # the quota's key, no address stored
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert upload(other, PNG).status_code == 201                     # another client has its own quota


def test_upload_urls_cannot_escape_the_upload_folder(client):
    for path in ("/uploads/..%2fshop.db", "/uploads/.htaccess", "/uploads/x.svg", "/uploads/nope.png"):
        assert client.get(path).status_code == 404


# ---- widget assets ------------------------------------------------------------------------------------------


def test_widget_assets_are_served(client):
    script = client.get("/widget/shopdesk.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert script.headers["Access-Control-Allow-Origin"] == "*"
    assert "innerHTML" not in script.get_data(as_text=True)       # text only ever goes in via textContent
    assert client.get("/widget/shopdesk.css").status_code == 200
    assert client.get("/widget/../web/__init__.py").status_code == 404


def test_socketio_client_is_served_locally_once_vendored(client):
    from web.vendor import vendored_client_path

    response = client.get("/widget/vendor/socket.io.min.js")
    if vendored_client_path().is_file():
        assert response.status_code == 200 and b"socket.io" in response.data[:400].lower() + response.data[-400:]
    else:
        assert response.status_code == 404
