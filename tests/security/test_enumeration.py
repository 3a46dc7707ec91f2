"""Issue 15 item 2: order number + email guessing, spread over fresh conversations, is stopped.

The attacker of the issue chose a new conversation id for every few guesses (the lockout counted per
conversation), had the third guess still evaluated and reset the streak with a success on their own
order. Here the same attacks run against the real stack (Rasa + action server + store database over the
REST channel): failures count per order number, per email and per client address, across conversations;
a paused check is refused before anything is looked up and reads the same whether the order exists.

Orders are from the seed-7 demo store and are only read (tracking), never changed.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.models import Customer, Order
from store.service import MAX_FAILED_VERIFICATIONS
from tests.security._identity_chat import Chat, evaluated_checks

pytestmark = pytest.mark.slow

GUESSED_ORDER = ("581137", "lynne.ross@example.com")  # shipped: tracking would show its details
KNOWN_EMAIL_ORDER = ("581125", "joyce.scott@example.com")
SAME_ANSWER_ORDER = ("581134", "brian.brown@example.com")
SPRAYED_ORDER = ("581139", "phillip.griffiths@example.com")
ATTACKERS_OWN = ("581132", "sean.charlton@example.com")
UNKNOWN_ORDER = "599999"

NO_MATCH = "couldn't find an order with that number and email"
PAUSED = "paused order look-ups"
REFUSED = "Too many unsuccessful attempts"
ORDER_DETAILS = ("on its way", "tracking number", "Royal Mail", "DHL")


@pytest.fixture
def chat(shop_stack) -> Chat:
    """A REST client for the shared stack (tests/conftest.py clears identity-check failures around each test)."""
    return Chat(shop_stack)


def new_sender() -> str:
    return f"enum-{uuid.uuid4().hex[:12]}"


def check(chat: Chat, number: str, email: str, client: str | None = None, sender: str | None = None) -> str:
    """One guess in a fresh conversation: ask to track `number`, answer the email question with `email`."""
    sender = sender or new_sender()
    asked = chat.send(sender, f"where is my order {number}", client)
    assert "email" in asked.lower(), asked
    return chat.send(sender, email, client)


def leaks(reply: str) -> bool:
    return any(words in reply for words in ORDER_DETAILS)


def test_demo_orders_are_as_expected(demo_store_url: str) -> None:
    engine = make_engine(demo_store_url)
    with Session(engine) as s:
        for number, email in (GUESSED_ORDER, KNOWN_EMAIL_ORDER, SAME_ANSWER_ORDER, SPRAYED_ORDER, ATTACKERS_OWN):
            assert s.scalar(select(Customer.email).join(Order).where(Order.number == number)) == email
        assert s.scalar(select(Order).where(Order.number == UNKNOWN_ORDER)) is None
    engine.dispose()


def test_guessing_emails_for_one_order_over_new_conversations_never_finds_it(chat: Chat) -> None:
    before = evaluated_checks(chat.stack.database_url)
    replies = []
    for attempt in range(8):  # a new conversation and a new client address for every guess
        email = GUESSED_ORDER[1] if attempt == 5 else f"guess{attempt}@example.com"
        replies.append(check(chat, GUESSED_ORDER[0], email, client=f"198.51.100.{attempt + 1}"))
    assert all(NO_MATCH in reply for reply in replies[:MAX_FAILED_VERIFICATIONS - 1]), replies
    assert PAUSED in replies[MAX_FAILED_VERIFICATIONS - 1]
    assert all(REFUSED in reply for reply in replies[MAX_FAILED_VERIFICATIONS:]), replies
    assert not any(leaks(reply) for reply in replies)  # not even the right email (guess 6) got through
    assert evaluated_checks(chat.stack.database_url) - before == MAX_FAILED_VERIFICATIONS  # the rest: unevaluated


def test_guessing_order_numbers_for_one_email_is_stopped(chat: Chat) -> None:
    number, email = KNOWN_EMAIL_ORDER
    for attempt, guess in enumerate(("581120", "581121", "581123")):
        reply = check(chat, guess, email, client=f"203.0.113.{attempt + 1}")
        assert NO_MATCH in reply or PAUSED in reply
    reply = check(chat, number, email, client="203.0.113.50")  # her real order, from yet another address
    assert REFUSED in reply and not leaks(reply)


def test_a_paused_check_reads_the_same_for_real_and_unknown_orders(chat: Chat) -> None:
    answers = []
    for number in (SAME_ANSWER_ORDER[0], UNKNOWN_ORDER):
        failures = [check(chat, number, f"nobody{attempt}@example.com") for attempt in range(MAX_FAILED_VERIFICATIONS)]
        assert PAUSED in failures[-1]
        answers.append(check(chat, number, SAME_ANSWER_ORDER[1]))
    assert REFUSED in answers[0] and answers[0] == answers[1]


def test_a_success_on_ones_own_order_resets_nothing(chat: Chat) -> None:
    target, email = SPRAYED_ORDER
    assert NO_MATCH in check(chat, target, "first@example.com")
    assert NO_MATCH in check(chat, target, "second@example.com")
    assert leaks(check(chat, *ATTACKERS_OWN))  # the attacker's own order, in between
    assert PAUSED in check(chat, target, "third@example.com")  # still the third failure on that order
    reply = check(chat, target, email)
    assert REFUSED in reply and not leaks(reply)


def test_one_client_spraying_different_details_is_stopped(chat: Chat) -> None:
    client, sender = "192.0.2.77", new_sender()
    first = check(chat, "581120", "spray0@example.com", client=client, sender=sender)
    assert NO_MATCH in first
    assert chat.stamped_client(sender) == client  # the backend's X-ShopDesk-Client, not the metadata's
    for attempt, number in enumerate(("581121", "581123"), start=1):
        check(chat, number, f"spray{attempt}@example.com", client=client)
    reply = check(chat, *SPRAYED_ORDER, client=client)  # a correct pair, but from the paused client
    assert REFUSED in reply and not leaks(reply)
    assert leaks(check(chat, *SPRAYED_ORDER, client="192.0.2.78"))  # another client is unaffected
