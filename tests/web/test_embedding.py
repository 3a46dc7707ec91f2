"""The widget on the shop's own site (issue 18): allowed origins and CORS, the widget token instead of a cookie,
the shop's signed identity token, and a production run that serves the widget API alone.

Real app, real store database (tests/web/conftest.py); a browser on another origin is what the Origin header
says it is. The whole embed through the real stack, in Chromium: tests/e2e/test_widget_embed.py.
"""

from __future__ import annotations

import base64
import io
import json
import time

import pytest

from store.tokens import verify_customer_token, verify_widget_token
from tests.web.conftest import SIGNING_KEY
from web import ConfigurationError, create_app
from web.catalog import demo_shoppers
from web.shop_identity import IdentityRefused, _mac, issue_identity_token, verify_identity_token
from web.store_access import store_session

SHOP = "https://shop.example"
EVIL = "https://evil.example"
SECRET = "identity-secret-for-tests-0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def prod(app):
    """The same app in production mode, allowing the shop's site."""
    config = {k: v for k, v in app.config.items() if k.startswith(("SHOPDESK_", "SECRET_KEY", "TESTING"))}
    return create_app({**config, "SHOPDESK_MODE": "production", "SHOPDESK_ALLOWED_ORIGINS": SHOP,
                       "SHOPDESK_IDENTITY_SECRET": SECRET})


@pytest.fixture
def shop(prod):
    """A browser on the shop's site: every request carries its Origin."""
    client = prod.test_client()
    client.environ_base["HTTP_ORIGIN"] = SHOP
    return client


def shopper(app, index: int = 0):
    with app.app_context(), store_session() as s:
        return demo_shoppers(s)[index]


def session_as(client, token: str | None = None, identity: str | None = None) -> dict:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if identity:
        headers["X-ShopDesk-Identity"] = identity
    response = client.get("/api/session", headers=headers)
    assert response.status_code == 200, response.data
    return response.get_json()


# ---- production mode -----------------------------------------------------------------------------------------


def test_production_serves_the_widget_api_and_script_but_no_storefront(prod):
    client = prod.test_client()
    for path in ("/", "/signin", "/static/storefront.css"):
        assert client.get(path).status_code == 404, path
    assert client.post("/signin", data={"customer_id": "1"}).status_code == 404
    assert client.post("/signout").status_code == 404
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert b"ShopDesk chat widget" in script.data
    assert client.get("/favicon.ico").status_code == 204             # the launchers' health check
    assert client.get("/api/session").get_json()["conversation_id"]


def test_demo_mode_keeps_the_storefront(client):
    assert client.get("/").status_code == 200
    assert client.get("/signin").status_code == 200


def test_bad_site_settings_stop_the_app_with_a_clear_error(app):
    config = {k: v for k, v in app.config.items() if k.startswith(("SHOPDESK_", "SECRET_KEY"))}
    with pytest.raises(ConfigurationError, match="SHOPDESK_MODE"):
        create_app({**config, "SHOPDESK_MODE": "staging"})
    with pytest.raises(ConfigurationError, match="scheme://host"):
        create_app({**config, "SHOPDESK_ALLOWED_ORIGINS": "shop.example/chat"})


# ---- origins and CORS ----------------------------------------------------------------------------------------


def test_an_allowed_site_gets_cors_without_credentials_and_a_widget_token(shop):
    response = shop.get("/api/session")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Set-Cookie" not in response.headers                       # nothing rides on a cookie there
    body = response.get_json()
    assert body["csrf_token"] is None
    assert verify_widget_token(body["widget_token"], key=SIGNING_KEY) == (body["conversation_id"], None)


def test_preflight_from_an_allowed_site_is_answered(shop):
    response = shop.options("/api/attachments", headers={
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-shopdesk-identity"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_foreign_site_is_refused_with_a_clear_error(prod):
    client = prod.test_client()
    client.environ_base["HTTP_ORIGIN"] = EVIL
    for method, path in (("get", "/api/session"), ("get", "/api/history"), ("post", "/api/conversations"),
                         ("get", "/uploads/0123456789abcdef0123456789abcdef.png")):
        response = getattr(client, method)(path)
        assert response.status_code == 403, path
        assert "evil.example" in response.get_json()["error"]
        assert "SHOPDESK_ALLOWED_ORIGINS" in response.get_json()["error"]
        assert response.headers["Access-Control-Allow-Origin"] == EVIL               # so the widget can say it
    preflight = client.options("/api/session", headers={"Access-Control-Request-Method": "GET",
                                                        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_apps_own_pages_need_no_configuration(prod):
    client = prod.test_client()
    response = client.get("/api/session", headers={"Origin": "http://localhost"})  # the test client's host
    assert response.status_code == 200 and response.get_json()["csrf_token"]


# ---- the widget token ------------------------------------------------------------------------------------------


def test_the_widget_token_keeps_the_conversation_across_page_loads(shop, fake_rasa):
    first = session_as(shop)
    fake_rasa.trackers[first["conversation_id"]] = [{"event": "user", "text": "hello", "message_id": "m1"}]
    again = session_as(shop, first["widget_token"])
    assert again["conversation_id"] == first["conversation_id"]
    history = shop.get("/api/history", headers={"Authorization": f"Bearer {first['widget_token']}"}).get_json()
    assert history["conversation_id"] == first["conversation_id"]
    assert [m["text"] for m in history["messages"]] == ["hello"]
    assert session_as(shop)["conversation_id"] != first["conversation_id"]          # no token: a new one


def test_a_forged_widget_token_gets_a_new_conversation_not_the_named_one(shop):
    mine = session_as(shop)
    forged = mine["widget_token"][:-3] + ("AAA" if not mine["widget_token"].endswith("AAA") else "BBB")
    assert session_as(shop, forged)["conversation_id"] != mine["conversation_id"]


def test_a_cookie_is_never_read_for_another_sites_widget(prod, client):
    own = client.get("/api/session").get_json()["conversation_id"]                  # a cookie-held conversation
    client.application = prod
    response = client.get("/api/session", headers={"Origin": SHOP})
    assert response.get_json()["conversation_id"] != own


def test_token_held_writes_need_no_csrf_token_and_attachments_follow_the_token(shop):
    body = session_as(shop)
    auth = {"Authorization": f"Bearer {body['widget_token']}"}
    upload = shop.post("/api/attachments", headers=auth, content_type="multipart/form-data",
                       data={"image": (io.BytesIO(PNG), "a.png")})
    assert upload.status_code == 201, upload.data
    url = upload.get_json()["url"]
    assert shop.get(url, headers=auth).status_code == 200
    assert shop.get(url).status_code == 404                                          # another widget: nothing
    fresh = shop.post("/api/conversations", headers=auth)
    assert fresh.status_code == 201 and fresh.get_json()["conversation_id"] != body["conversation_id"]


# ---- the shop's signed identity token -------------------------------------------------------------------------


def test_a_valid_identity_token_makes_the_chat_the_customers(shop, prod):
    customer = shopper(prod)
    body = session_as(shop, identity=issue_identity_token(SECRET, customer.email.upper(), subject="shop-42"))
    assert body["identity_error"] is None
    assert body["customer"] == {"name": customer.name}
    with prod.app_context():
        assert verify_customer_token(body["customer_token"], body["conversation_id"], key=SIGNING_KEY) == customer.id
    assert verify_widget_token(body["widget_token"], key=SIGNING_KEY) == (body["conversation_id"], customer.id)


@pytest.mark.parametrize("case, message", [
    ("tampered", "signature"), ("expired", "expired"), ("unsigned", "HS256"), ("no expiry", "expiry"),
    ("too long", "24 hours"), ("unknown email", "no customer account"), ("garbage", "malformed"),
])
def test_a_bad_identity_token_is_refused_and_the_chat_stays_a_guests(shop, prod, case, message):
    customer = shopper(prod)
    token = identity_token(case, customer.email)
    body = session_as(shop, identity=token)
    assert message in body["identity_error"] and "guest" in body["identity_error"]
    assert body["customer"] is None and body["customer_token"] is None
    assert verify_widget_token(body["widget_token"], key=SIGNING_KEY)[1] is None


def identity_token(case: str, email: str) -> str:
    """A token as a careless or hostile sender would make it (`case`), for `email`."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = time.time()
    if case == "tampered":
        header, _, signature = issue_identity_token(SECRET, "someone@else.example").split(".")
        return f"{header}.{part({'email': email, 'exp': int(now) + 600})}.{signature}"
    if case == "expired":
        return issue_identity_token(SECRET, email, ttl_s=600, now=now - 3600)
    if case == "unsigned":
        return f"{part({'alg': 'none'})}.{part({'email': email, 'exp': int(now) + 600})}."
    if case == "no expiry":
        header = issue_identity_token(SECRET, email).split(".")[0]
        signed = f"{header}.{part({'email': email})}"
        return f"{signed}.{_mac(SECRET, signed)}"
    if case == "too long":
        return issue_identity_token(SECRET, email, ttl_s=7 * 24 * 3600)
    if case == "unknown email":
        return issue_identity_token(SECRET, "nobody@nowhere.example")
    return "not-a-token"


def test_identity_tokens_are_refused_while_no_secret_is_configured():
    with pytest.raises(IdentityRefused, match="not set up"):
        verify_identity_token(issue_identity_token(SECRET, "a@b.example"), "")


def test_a_customers_chat_is_never_handed_on(shop, prod):
    """Signed out on the shop (no token now) or another customer: a new conversation, the old one revoked."""
    first, second = shopper(prod, 0), shopper(prod, 1)
    mine = session_as(shop, identity=issue_identity_token(SECRET, first.email))
    assert session_as(shop, mine["widget_token"],
                      identity=issue_identity_token(SECRET, first.email))["conversation_id"] == mine["conversation_id"]
    other = session_as(shop, mine["widget_token"], identity=issue_identity_token(SECRET, second.email))
    assert other["conversation_id"] != mine["conversation_id"] and other["customer"] == {"name": second.name}
    assert session_as(shop, mine["widget_token"])["conversation_id"] not in (mine["conversation_id"],
                                                                           other["conversation_id"])
    guest = session_as(shop, other["widget_token"])                               # signed out on the shop
    assert guest["conversation_id"] != other["conversation_id"] and guest["customer"] is None


def test_an_anonymous_chat_carries_on_when_the_customer_signs_in(shop, prod):
    guest = session_as(shop)
    signed = session_as(shop, guest["widget_token"], identity=issue_identity_token(SECRET, shopper(prod).email))
    assert signed["conversation_id"] == guest["conversation_id"] and signed["customer"] is not None
