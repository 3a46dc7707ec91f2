"""`action_answer_from_knowledge` called as the action server calls it, against a real knowledge base."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import NOT_SURE, STILL_NOT_SURE, UNAVAILABLE, ActionAnswerFromKnowledge
from knowledge.settings import KnowledgeSettings


def tracker_for(text: str, previous: list[dict[str, Any]] | None = None, misses: float | None = None) -> Tracker:
    events = [*(previous or []), {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    return Tracker(
        sender_id="kb-test",
        slots={"kb_misses": misses},
        latest_message={"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerFromKnowledge().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def kb_turn(text: str) -> list[dict[str, Any]]:
    """Events of an earlier turn the knowledge base answered."""
    return [{"event": "user", "text": text}, {"event": "action", "name": "action_answer_from_knowledge"},
            {"event": "action", "name": "action_listen"}]


def test_answers_from_the_right_page_and_names_it(demo_env: None) -> None:
    messages, events = run(tracker_for("Can I return a gift without a receipt?"))
    assert len(messages) == 1
    text = messages[0]["text"]
    assert "order number" in text and text.endswith("Source: Frequently asked questions")
    assert events == [{"event": "slot", "timestamp": None, "name": "kb_misses", "value": 0.0},
                      {"event": "followup", "timestamp": None, "name": "action_listen"}]  # the turn ends here


def test_unknown_question_is_not_guessed_and_a_person_is_offered(demo_env: None) -> None:
    messages, events = run(tracker_for("what's the weather in Paris tomorrow?"))
    assert messages[0]["text"] == NOT_SURE
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
    assert events[0]["value"] == 1.0


def test_second_miss_in_a_row_offers_the_person_directly(demo_env: None) -> None:
    tracker = tracker_for("who won the football?", previous=kb_turn("weather in Paris?"), misses=1.0)
    messages, events = run(tracker)
    assert messages[0]["text"] == STILL_NOT_SURE
    assert messages[0]["buttons"][0]["payload"] == "/contact_human_agent"
    assert events[0]["value"] == 2.0  # the handoff policy hands over at 2
    assert len(events) == 1  # ...so nothing forces the turn to end


def test_misses_only_count_in_a_row(demo_env: None) -> None:
    other_turn = [{"event": "user", "text": "track my order"}, {"event": "action", "name": "track_order_form"}]
    messages, events = run(tracker_for("who won the football?", previous=other_turn, misses=1.0))
    assert messages[0]["text"] == NOT_SURE and events[0]["value"] == 1.0
    messages, events = run(tracker_for("do you ship to Norway?", previous=kb_turn("football?"), misses=1.0))
    assert "Norway" in messages[0]["text"] and events[0]["value"] == 0.0  # an answer resets the count


def test_missing_knowledge_base_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDESK_KNOWLEDGE_DIR", str(tmp_path / "no-kb"))
    monkeypatch.delenv("SHOPDESK_CHROMA_URL", raising=False)
    messages, events = run(tracker_for("do you ship to Norway?"))
    assert messages[0]["text"] == UNAVAILABLE and messages[0]["buttons"][0]["title"] == "Talk to a person"
    assert events[0]["value"] == 1.0


def test_button_payloads_and_empty_messages_are_not_looked_up(demo_env: None) -> None:
    messages, _ = run(tracker_for("/nlu_fallback"))
    assert messages[0]["text"] == NOT_SURE


def test_server_mode(chroma_server: str, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action reads a knowledge base on a Chroma server when SHOPDESK_CHROMA_URL is set."""
    from knowledge.ingest import ingest

    settings = KnowledgeSettings(chroma_url=chroma_server)
    ingest([docs], settings, prune=True)
    monkeypatch.setenv("SHOPDESK_CHROMA_URL", chroma_server)
    messages, events = run(tracker_for("do you deliver to Norway?"))
    assert "DHL" in messages[0]["text"] and "Source: Delivery information (https://shop.example/help/delivery)" in (
        messages[0]["text"])
    assert events[0]["value"] == 0.0
