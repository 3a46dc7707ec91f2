"""Issue 15 item 7: numbers inside an answer never change which order a flow is about.

"12 Acacia Avenue, Leeds LS1 4AB" made the NLU tag "1" as an order id, and an unconditioned entity
mapping overwrote the order number mid-form, so the address change never finished. Through the real stack
(REST channel, Rasa with the trained model, action server, store database): the address change with a
postcode (or a house number that could pass for an order number) finishes, the store holds the new
address, the order number in the conversation is unchanged and no other order was touched.

Each test changes its own processing order of the seed-7 demo store; no other test uses them.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.models import Customer, Order, OrderStatus
from tests.security._identity_chat import Chat

pytestmark = pytest.mark.slow

POSTCODE_ORDER = ("581514", "ian.moss@example.com")
HOUSE_NUMBER_ORDER = ("581516", "hugh.martin@example.com")


@pytest.fixture
def chat(shop_stack) -> Chat:
    """A REST client for the shared stack (tests/conftest.py clears identity-check failures around each test)."""
    return Chat(shop_stack)


def addresses(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with Session(engine) as s:
        rows = dict(s.execute(select(Order.number, Order.shipping_address)).tuples().all())
    engine.dispose()
    return rows


def test_demo_orders_are_as_expected(demo_store_url: str) -> None:
    engine = make_engine(demo_store_url)
    with Session(engine) as s:
        for number, email in (POSTCODE_ORDER, HOUSE_NUMBER_ORDER):
            order = s.scalar(select(Order).join(Customer).where(Order.number == number))
            assert order is not None and order.customer.email == email and order.status is OrderStatus.PROCESSING
    engine.dispose()


@pytest.mark.parametrize(("order", "new_address"), [
    (POSTCODE_ORDER, "12 Acacia Avenue, Leeds LS1 4AB"),
    (HOUSE_NUMBER_ORDER, "Unit 58114, 7 Mill Lane, York YO1 7HH"),
])
def test_address_change_with_numbers_in_the_address_finishes(chat: Chat, order: tuple[str, str],
                                                             new_address: str) -> None:
    number, email = order
    url = chat.stack.database_url
    before = addresses(url)
    sender = f"slots-{uuid.uuid4().hex[:12]}"
    asked = chat.send(sender, f"I need to change the delivery address for order {number}")
    assert "email" in asked.lower(), asked
    asked = chat.send(sender, email)
    assert "new delivery address" in asked, asked
    confirm = chat.send(sender, new_address)
    assert f"deliver order {number} to “{new_address}, United Kingdom”" in confirm, confirm  # stored format
    assert chat.tracker(sender)["slots"]["order_id"] == number
    done = chat.send(sender, "yes")
    assert new_address in done, done
    after = addresses(url)
    assert after[number] == f"{new_address}, United Kingdom"
    assert {n: a for n, a in after.items() if n != number} == {n: a for n, a in before.items() if n != number}
    assert chat.tracker(sender)["slots"]["order_id"] == number
