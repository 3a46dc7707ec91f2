"""Personal data never leaves the review tool: emails, phones, cards (Luhn), addresses; order ids stay."""

from __future__ import annotations

import pytest

from training.redaction import REPLACEMENTS, luhn_valid, redact, redact_text


@pytest.mark.parametrize(("message", "expected", "kinds"), [
    ("my email is John.Smith+shop@gmail.co.uk, order 581142",
     "my email is customer@example.com, order 581142", ["email"]),
    ("call me on +44 20 7946 0958 or 07700 900123 please",
     "call me on +44 0000 000000 or +44 0000 000000 please", ["phone"]),
    ("US number (555) 123-4567 after 5pm", "US number +44 0000 000000 after 5pm", ["phone"]),
    ("I paid with 4111 1111 1111 1111 but was charged twice",
     "I paid with 0000 0000 0000 0000 but was charged twice", ["card"]),
    ("card 5500-0000-0000-0004 expired", "card 0000 0000 0000 0000 expired", ["card"]),
    ("amex 378282246310005 declined", "amex 0000 0000 0000 0000 declined", ["card"]),
    ("please send it to 221B Baker Street, London NW1 6XE instead",
     "please send it to 1 Example Street, London AA0 0AA instead", ["address", "postcode"]),
    ("new address: 12 high street, leeds", "new address: 1 Example Street, leeds", ["address"]),
    ("deliver to 1600 Pennsylvania Avenue", "deliver to 1 Example Street", ["address"]),
])
def test_redacts_personal_data(message: str, expected: str, kinds: list[str]) -> None:
    result = redact(message)
    assert result.text == expected
    assert result.kinds == kinds


@pytest.mark.parametrize("message", [
    "where is my order 581142",
    "invoice 489434 and order 536365 are wrong",
    "I ordered 2 items on the way home on 2024-01-15",
    "the number 1234 5678 9012 3456 fails the Luhn check",  # not a card number
    "I want a refund of £12.50 for 3 mugs",
    "track order #C581142",
])
def test_keeps_order_ids_and_ordinary_text(message: str) -> None:
    assert redact_text(message) == message


def test_redaction_is_idempotent_and_replacements_stay_shaped() -> None:
    text = "mail a.b@shop.example, card 4242 4242 4242 4242, phone +1 415 555 2671, 10 Downing Street"
    once = redact_text(text)
    assert redact_text(once) == once
    for value in REPLACEMENTS.values():
        assert redact_text(value) == value
    assert "a.b@shop.example" not in once and "4242" not in once and "2671" not in once and "Downing" not in once


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


def test_entity_spans_follow_the_redaction() -> None:
    text = "my email is jane@x.org and order 581142"
    result = redact(text)
    email, order = (12, 22), (text.index("581142"), text.index("581142") + 6)
    new_email = result.map_span(*email)
    new_order = result.map_span(*order)
    assert new_email and result.text[new_email[0]:new_email[1]] == "customer@example.com"
    assert new_order and result.text[new_order[0]:new_order[1]] == "581142"
    assert result.map_span(12, 16) is None  # part of a replaced span cannot be kept
