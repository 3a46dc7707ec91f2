"""Real conversations over ShopDesk's REST channel: Rasa server + action server processes + store database.

The client authenticates as the shop's backend (SHOPDESK_REST_TOKEN); each sender talks in the
conversation `rest:<sender>`, which signed customer tokens are bound to.

Order numbers and emails come from the real Online Retail sample seeded with seed 7 (tests/conftest.py);
test_demo_orders_are_as_expected fails first, and clearly, if the seed or the data ever change.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.chat_client import conversation_id, post_message, send_message
from store.db import make_engine
from store.models import Customer, Order
from store.tokens import issue_customer_token

pytestmark = pytest.mark.slow

CANCEL_ME = ("581146", "jeffrey.wright@example.com")  # processing
SHIPPED = ("580289", "fiona.rose@example.com")
TRACK_ME = ("580291", "barry.jones2@example.com")  # shipped
TOKEN_CUSTOMER, TOKEN_ORDER, OTHERS_ORDER = 14085, "581144", "581147"  # amanda.roberts; gerard.kelly's


def chat(stack, sender: str, text: str, metadata: dict | None = None) -> str:
    return "\n".join(m.get("text") or "" for m in send_message(stack.rasa_url, sender, text, metadata))


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def order_status(url: str, number: str) -> str:
    engine = make_engine(url)
    with Session(engine) as s:
        status = s.scalar(select(Order.status).where(Order.number == number))
    engine.dispose()
    return status.value


def test_demo_orders_are_as_expected(demo_store_url: str) -> None:
    engine = make_engine(demo_store_url)
    with Session(engine) as s:
        rows = {o.number: (o.status.value, o.customer.email) for o in
                s.scalars(select(Order).where(Order.number.in_([CANCEL_ME[0], SHIPPED[0], TRACK_ME[0]])))}
        token_customer = s.get(Customer, TOKEN_CUSTOMER)
        others = s.scalar(select(Order).where(Order.number == OTHERS_ORDER))
        assert token_customer is not None and others.customer_id != TOKEN_CUSTOMER
    engine.dispose()
    assert rows == {CANCEL_ME[0]: ("processing", CANCEL_ME[1]), SHIPPED[0]: ("shipped", SHIPPED[1]),
                    TRACK_ME[0]: ("shipped", TRACK_ME[1])}


def test_order_details_only_after_identity_is_proved(shop_stack) -> None:
    sender = new_sender()
    reply = chat(shop_stack, sender, f"where is my order {TRACK_ME[0]}")
    assert "email" in reply.lower() and "Royal Mail" not in reply and "tracking" not in reply.lower()
    reply = chat(shop_stack, sender, "someone.else@example.com")
    assert "couldn't find an order with that number and email" in reply
    assert chat(shop_stack, sender, TRACK_ME[0])  # asked for the order again
    reply = chat(shop_stack, sender, TRACK_ME[1])
    assert ("on its way" in reply or "is late" in reply) and "tracking number" in reply  # the seed's dates age


def test_cancel_processing_order_for_real(shop_stack) -> None:
    sender = new_sender()
    chat(shop_stack, sender, f"I want to cancel order {CANCEL_ME[0]}")
    reply = chat(shop_stack, sender, CANCEL_ME[1])
    assert f"cancel order {CANCEL_ME[0]}" in reply
    assert order_status(shop_stack.database_url, CANCEL_ME[0]) == "processing"
    reply = chat(shop_stack, sender, "/affirm")
    assert "is cancelled" in reply
    assert order_status(shop_stack.database_url, CANCEL_ME[0]) == "cancelled"


def test_refuses_to_cancel_shipped_order(shop_stack) -> None:
    sender = new_sender()
    chat(shop_stack, sender, f"please cancel my order {SHIPPED[0]}")
    reply = chat(shop_stack, sender, SHIPPED[1])
    assert "already shipped" in reply
    assert order_status(shop_stack.database_url, SHIPPED[0]) == "shipped"


def signed_in(stack, sender: str) -> dict:
    """The metadata a shop's backend sends for its signed-in customer, bound to this sender's conversation."""
    key = stack.env()["SHOPDESK_SIGNING_KEY"]
    return {"customer_token": issue_customer_token(TOKEN_CUSTOMER, conversation_id(sender), key)}


def test_signed_token_identifies_customer_but_not_for_others_orders(shop_stack) -> None:
    sender = new_sender()
    reply = chat(shop_stack, sender, f"where is order {TOKEN_ORDER}", signed_in(shop_stack, sender))
    assert TOKEN_ORDER in reply and "what's the email" not in reply.lower()
    sender = new_sender()
    reply = chat(shop_stack, sender, f"where is order {OTHERS_ORDER}", signed_in(shop_stack, sender))
    assert f"couldn't find an order {OTHERS_ORDER}" in reply
    sender = new_sender()
    reply = chat(shop_stack, sender, "show me my recent orders", signed_in(shop_stack, sender))
    assert TOKEN_ORDER in reply and OTHERS_ORDER not in reply


def test_token_of_another_conversation_does_not_identify(shop_stack) -> None:
    other = new_sender()
    reply = chat(shop_stack, new_sender(), "show me my recent orders", signed_in(shop_stack, other))
    assert TOKEN_ORDER not in reply


def test_repeated_failures_are_throttled(shop_stack) -> None:
    sender = new_sender()
    chat(shop_stack, sender, f"track order {TRACK_ME[0]}")
    replies = []
    for attempt in range(3):
        replies.append(chat(shop_stack, sender, f"guess{attempt}@example.com"))
        if attempt < 2:
            chat(shop_stack, sender, TRACK_ME[0])
    assert "paused order look-ups" in replies[-1]
    chat(shop_stack, sender, f"track order {TRACK_ME[0]}")
    reply = chat(shop_stack, sender, TRACK_ME[1])  # even the right email, while locked
    assert "Too many unsuccessful attempts" in reply and "tracking number" not in reply


@pytest.mark.parametrize(("text", "error"), [
    ("", "non-empty"),
    ("   ", "non-empty"),
    ("x" * 10_000, "longer than 5000"),
    ("\x00binary", "NUL"),
])
def test_unusable_text_is_refused_by_the_channel(shop_stack, text: str, error: str) -> None:
    reply = post_message(shop_stack.rasa_url, new_sender(), text)
    assert reply.status_code == 400 and error in reply.json()["error"]


@pytest.mark.parametrize(("text", "expected"), [
    ("x" * 3000, "too long"),
    ("\x01\x02binary\x03\x04", "file or garbled"),
    ("¿Dónde está mi pedido? Quiero saber cuándo llega", "only help in English"),
    ("我的订单在哪里", "only help in English"),
])
def test_bad_input_gets_a_clear_reply(shop_stack, text: str, expected: str) -> None:
    assert expected in chat(shop_stack, new_sender(), text)


def test_rasa_http_api_requires_the_token(shop_stack) -> None:
    import requests

    url = f"{shop_stack.rasa_url}/conversations/anyone/tracker"
    assert requests.get(url, timeout=10).status_code in (401, 403)
    token = shop_stack.env()["RASA_AUTH_TOKEN"]
    assert requests.get(url, params={"token": token}, timeout=10).status_code == 200
