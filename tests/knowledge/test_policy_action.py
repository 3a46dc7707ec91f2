"""`action_answer_policy_question` called as the action server calls it, against the demo shop's real
knowledge base and the real domain.yml."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import NOT_SURE
from actions.policy_answers import ActionAnswerPolicyQuestion
from tests.knowledge.conftest import REPO

DOMAIN = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))


def tracker_for(text: str, intent: str, active_loop: str | None = None,
                slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        sender_id="policy-test",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[{"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run(tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerPolicyQuestion().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def test_answers_the_specific_question_from_the_page_and_names_it(demo_env: None) -> None:
    messages, events = run(tracker_for("can i get it delivered on a saturday", "delivery_options"))
    assert len(messages) == 1 and events == []
    text = messages[0]["text"]
    assert "Saturday" in text and "£3.95" not in text
    assert text.endswith("Source: Frequently asked questions") or text.endswith("Source: Shipping & delivery")


def test_keeps_the_intents_next_step_buttons(demo_env: None) -> None:
    messages, _ = run(tracker_for("is there a fee if I cancel?", "check_cancellation_fee"))
    assert "no cancellation fee" in messages[0]["text"]
    assert messages[0]["text"].endswith("Source: Cancelling or changing an order")
    assert {"title": "Cancel an order", "payload": "/cancel_order"} in messages[0]["buttons"]


def test_documents_silent_falls_back_to_the_intents_response(demo_env: None) -> None:
    messages, _ = run(tracker_for("can I pay in instalments with Klarna", "check_payment_methods"))
    assert len(messages) == 1 and messages[0]["response"] == "utter_check_payment_methods"
    assert not messages[0]["text"]


def test_a_question_without_a_policy_intent_gets_an_honest_not_sure(demo_env: None) -> None:
    messages, _ = run(tracker_for("what's the weather in Leeds today", "nlu_fallback"))
    assert messages[0]["text"] == NOT_SURE


def test_a_button_payload_is_answered_with_the_topics_own_question(demo_env: None) -> None:
    messages, _ = run(tracker_for("/check_payment_methods", "check_payment_methods"))
    assert "PayPal" in messages[0]["text"] and "Source:" in messages[0]["text"]


def test_inside_a_form_it_answers_and_leaves_the_form_alone(demo_env: None) -> None:
    tracker = tracker_for("do you charge extra for the Isle of Skye?", "delivery_options",
                          active_loop="return_form", slots={"order_id": "581163", "requested_slot": "return_reason"})
    messages, events = run(tracker)
    assert "surcharge" in messages[0]["text"] and events == []


def test_without_a_knowledge_base_the_canned_answer_is_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDESK_KNOWLEDGE_DIR", str(tmp_path / "no-kb"))
    monkeypatch.delenv("SHOPDESK_CHROMA_URL", raising=False)
    messages, _ = run(tracker_for("how long does delivery take", "delivery_period"))
    assert messages[0]["response"] == "utter_delivery_period"
