"""When a conversation goes to a person (bot.handoff_triggers, shared by the Rasa policy and the action),
and what `action_handoff_to_human` does: queue it, tell the customer, pause the bot."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

import actions.handoff
import store.db
from actions.handoff import ActionHandoffToHuman, request_human
from bot.handoff_triggers import ANGER_THRESHOLD, kb_trigger, message_trigger, user_turns_since_last_handoff
from console.handoffs import HandoffDesk
from tests.console.conftest import user_event


def reason(events: list[dict[str, Any]]) -> str | None:
    found = message_trigger(user_turns_since_last_handoff(events))
    return found.reason if found else None


@pytest.mark.parametrize("intent", ["contact_human_agent", "contact_customer_service"])
def test_asking_for_a_person(intent: str) -> None:
    assert reason([user_event("can I talk to someone", intent)]) == "requested"


def test_nlu_misses_do_not_count_when_the_knowledge_base_answers_them() -> None:
    misses = [user_event("blorp", "nlu_fallback", 0.2), user_event("what is love", "out_of_scope")]
    assert message_trigger(user_turns_since_last_handoff(misses), count_nlu_misses=False) is None


def test_two_misses_in_a_row_but_not_one_or_two_apart() -> None:
    miss1, miss2 = user_event("blorp", "nlu_fallback", 0.2), user_event("what is love", "out_of_scope")
    ok = user_event("where is my order", "track_order")
    assert reason([miss1]) is None
    assert reason([miss1, ok, miss2]) is None
    assert reason([ok, miss1, miss2]) == "misses"


def test_knowledge_base_misses_slot() -> None:
    assert kb_trigger(None) is None and kb_trigger(1) is None and kb_trigger("x") is None
    assert kb_trigger(2).reason == "misses" and kb_trigger(3.0).reason == "misses"


@pytest.mark.parametrize(("text", "angry"), [
    ("You are useless!! I hate this stupid bot", True),
    ("this is ridiculous, worst service ever, I am furious", True),
    ("my parcel arrived damaged", False),  # an ordinary complaint stays with the bot
    ("I want a refund, the product is terrible", False),
    ("where is my order 581142", False),
])
def test_clearly_negative_sentiment(text: str, angry: bool) -> None:
    compound = SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    assert (compound <= ANGER_THRESHOLD) is angry
    assert (reason([user_event(text, "complaint", sentiment=compound)]) == "sentiment") is angry


def test_history_before_the_last_handoff_or_resume_does_not_count() -> None:
    miss = user_event("blorp", "nlu_fallback", 0.2)
    for boundary in ({"event": "resume"}, {"event": "action", "name": "action_handoff_to_human"},
                     {"event": "restart"}, {"event": "session_started"}):
        assert reason([miss, boundary, miss]) is None
    assert reason([miss, {"event": "resume"}, miss, miss]) == "misses"


# --- the action -----------------------------------------------------------------------------------------------

@pytest.fixture
def action_db(store_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOPDESK_DATABASE_URL", store_url)
    store.db.default_engine.cache_clear()
    actions.handoff.handoff_desk.cache_clear()
    yield actions.handoff.handoff_desk()
    store.db.default_engine().dispose()
    store.db.default_engine.cache_clear()
    actions.handoff.handoff_desk.cache_clear()


def tracker(events: list[dict[str, Any]], sender: str = "conv-7", slots: dict[str, Any] | None = None) -> Tracker:
    latest = next(e["parse_data"] | {"text": e["text"]} for e in reversed(events) if e["event"] == "user")
    all_slots = {"customer_id": None, "kb_misses": 0, "handoff_reason": None, **(slots or {})}
    return Tracker(sender, all_slots, latest, events, False, None, {}, "action_listen")


DOMAIN = {"slots": {"kb_misses": {}, "handoff_reason": {}, "customer_id": {}}}


def run(action_tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = ActionHandoffToHuman().run(dispatcher, action_tracker, DOMAIN)
    return dispatcher.messages, events


def test_handoff_queues_pauses_and_says_when_nobody_is_online(action_db: HandoffDesk) -> None:
    messages, events = run(tracker([user_event("I want a human", "contact_human_agent")]))
    assert {"event": "pause", "timestamp": None} in events
    assert {"event": "slot", "timestamp": None, "name": "kb_misses", "value": 0.0} in events
    assert "no one is online" in messages[0]["text"] and "Monday to Friday" in messages[0]["text"]
    handoff = action_db.open_for_conversation("conv-7")
    assert handoff.reason == "requested" and handoff.last_message == "I want a human" and handoff.status == "waiting"


def test_handoff_tells_queue_position_and_wait_when_agents_are_online(action_db: HandoffDesk, agents) -> None:
    action_db.open_handoff("someone-else", "requested")
    action_db.touch_agent(agents["alice"].id)
    angry = user_event("You are useless!! I hate this stupid bot", "complaint", sentiment=-0.9)
    messages, events = run(tracker([angry], sender="conv-8"))
    assert "number 2 in the queue" in messages[0]["text"] and "minutes" in messages[0]["text"]
    assert action_db.open_for_conversation("conv-8").reason == "sentiment"
    assert any(e["event"] == "pause" for e in events)


def test_a_flow_declares_it_needs_a_human(action_db: HandoffDesk) -> None:
    events = request_human("refund over the automatic limit")
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_handoff_to_human"}
    run(tracker([user_event("refund please", "get_refund")], sender="conv-9",
                slots={"handoff_reason": "refund over the automatic limit"}))
    handoff = action_db.open_for_conversation("conv-9")
    assert handoff.reason == "flow" and handoff.reason_detail == "refund over the automatic limit"


def test_when_the_queue_is_unreachable_the_bot_keeps_answering(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SHOPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    store.db.default_engine.cache_clear()
    actions.handoff.handoff_desk.cache_clear()
    try:
        messages, events = run(tracker([user_event("human please", "contact_human_agent")]))
    finally:
        store.db.default_engine().dispose()
        store.db.default_engine.cache_clear()
        actions.handoff.handoff_desk.cache_clear()
    assert "email" in messages[0]["text"] and not any(e["event"] == "pause" for e in events)
