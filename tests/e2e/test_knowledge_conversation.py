"""Questions no intent covers, answered from the shop's documents over the real stack (issue 4's acceptance)."""

from __future__ import annotations

import uuid

import pytest

from runtime.chat_client import send_message

pytestmark = pytest.mark.slow


def ask(stack, sender: str, text: str) -> list[dict]:
    return send_message(stack.rasa_url, sender, text)


def test_covered_question_is_answered_from_the_right_page(shop_stack) -> None:
    replies = ask(shop_stack, f"kb-{uuid.uuid4().hex[:8]}", "do you offer gift wrapping?")
    text = "\n".join(m.get("text") or "" for m in replies)
    assert "Source:" in text and "wrap" in text.lower()


def test_uncovered_question_says_not_sure_and_offers_a_person(shop_stack) -> None:
    replies = ask(shop_stack, f"kb-{uuid.uuid4().hex[:8]}", "what's the capital of Mongolia?")
    text = "\n".join(m.get("text") or "" for m in replies).lower()
    buttons = [b["payload"] for m in replies for b in m.get("buttons") or []]
    assert "not sure" in text or "couldn't find" in text
    assert "/contact_human_agent" in buttons
