"""The demo storefront: product grid, generated product images, fake sign-in, security headers."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import HTML_NAME, csrf, sign_in
from web import ConfigurationError, create_app
from web.catalog import format_price


def test_home_lists_products_with_gbp_prices_and_best_sellers(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="featured"' in html
    assert re.search(r"£\d+\.\d\d", html)
    assert "/products/" in html and ".svg" in html
    assert 'src="/widget/shopdesk.js"' in html


def test_product_names_are_escaped_in_pages(client):
    html = client.get("/?q=mug").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert HTML_NAME not in html


def test_search_and_pagination(client, app):
    from web.catalog import product_page
    from web.store_access import store_session

    with app.app_context(), store_session() as s:
        listing = product_page(s, page=2, page_size=2)
        assert listing.page == 2 and listing.pages >= 3 and len(listing.products) == 2
        beyond = product_page(s, page=99, page_size=2)
        assert beyond.page == beyond.pages
        assert product_page(s, query="%").total == 0      # LIKE wildcards are matched literally
    nothing = client.get("/?q=zzzz-no-such-thing").get_data(as_text=True)
    assert "No products match your search." in nothing
    assert client.get("/?page=abc").status_code == 200


def test_product_placeholder_svg_is_generated_and_escaped(client):
    response = client.get("/products/99999X.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "£2.50" in svg and "<script>" not in svg and "&lt;script&gt;" in svg
    assert client.get("/products/NOPE.svg").status_code == 404


def test_sign_in_lists_demo_shoppers_and_signs_in(client):
    page = client.get("/signin").get_data(as_text=True)
    assert "has an order being prepared" in page
    customer_id = sign_in(client, 0)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="signed-in-as"' in home
    assert client.get("/api/session").get_json()["customer"] is not None
    assert isinstance(customer_id, int)


def test_sign_in_refuses_missing_csrf_and_unknown_customers(client):
    assert client.post("/signin", data={"customer_id": "10001"}).status_code == 403
    token = csrf(client)
    refused = client.post("/signin", data={"customer_id": "424242", "csrf_token": token})
    assert refused.status_code == 400
    assert "Please pick one of the demo shoppers." in refused.get_data(as_text=True)
    assert client.get("/api/session").get_json()["customer"] is None


def test_sign_out_ends_the_conversation(client):
    sign_in(client, 0)
    before = client.get("/api/session").get_json()["conversation_id"]
    response = client.post("/signout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    after = client.get("/api/session").get_json()
    assert after["customer"] is None and after["customer_token"] is None
    assert after["conversation_id"] != before
    from store.security import is_revoked
    from web.store_access import store_session

    with client.application.app_context(), store_session() as s:
        assert is_revoked(s, before) and not is_revoked(s, after["conversation_id"])


def test_switching_shopper_revokes_the_old_conversation(client):
    from store.security import is_revoked
    from web.store_access import store_session

    sign_in(client, 0)
    before = client.get("/api/session").get_json()["conversation_id"]
    sign_in(client, 1)
    after = client.get("/api/session").get_json()["conversation_id"]
    assert after != before
    with client.application.app_context(), store_session() as s:
        assert is_revoked(s, before)


def test_switching_shopper_starts_a_new_conversation(client):
    sign_in(client, 0)
    first = client.get("/api/session").get_json()["conversation_id"]
    sign_in(client, 0)
    assert client.get("/api/session").get_json()["conversation_id"] == first
    sign_in(client, 1)
    assert client.get("/api/session").get_json()["conversation_id"] != first


def test_pages_carry_a_strict_content_security_policy(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "ws://127.0.0.1:5005" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_app_refuses_to_start_without_a_secret_key(store_url):
    with pytest.raises(ConfigurationError):
        create_app({"SECRET_KEY": "", "SHOPDESK_DATABASE_URL": store_url})


def test_gbp_formatting():
    from decimal import Decimal

    assert format_price(Decimal("0.85")) == "£0.85"  # the demo shop's currency (shop.yml)
    assert format_price(Decimal("1234.5")) == "£1,234.50"
