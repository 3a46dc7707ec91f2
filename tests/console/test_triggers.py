"""When a conversation goes to a person (bot.handoff_triggers, shared by the Rasa policy and the action),
and what `action_handoff_to_human` does: queue it, tell the customer, pause the bot only while someone can
pick it up; how to reach the team is answered (action_contact_details); a paused conversation's messages are
acknowledged by the channels (bot.channels.paused_reply)."""

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


def test_asking_for_a_person() -> None:
    assert reason([user_event("can I talk to someone", "contact_human_agent")]) == "requested"


def test_asking_how_to_reach_the_team_is_not_a_handoff() -> None:
    assert reason([user_event("can I call you?", "contact_customer_service")]) is None


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


def test_with_nobody_online_the_message_is_left_for_the_team_and_the_bot_keeps_helping(action_db: HandoffDesk
                                                                                          ) -> None:
    events_before = [user_event("my parcel never arrived", "track_order"),
                     {"event": "user", "text": "/contact_human_agent", "parse_data": {"intent": {
                         "name": "contact_human_agent", "confidence": 1.0}}},
                     user_event("I want a human", "contact_human_agent")]
    messages, events = run(tracker(events_before))
    assert not any(e["event"] == "pause" for e in events)  # nobody would answer a paused chat
    assert {"event": "slot", "timestamp": None, "name": "kb_misses", "value": 0.0} in events
    text = messages[0]["text"]
    assert "no one is online right now" in text and "Monday to Friday" in text and "I'm still here" in text
    handoff = action_db.open_for_conversation("conv-7")
    assert handoff.status == "waiting" and handoff.reason == "requested"
    assert handoff.reason_detail.startswith("Message for the team (no agent was online)")
    assert handoff.last_message == "my parcel never arrived / I want a human"  # the customer's words


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
    assert handoff.reason == "flow" and handoff.reason_detail.endswith(": refund over the automatic limit")


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


# --- contact details, and the paused conversation's acknowledgement ------------------------------------------

def test_contact_details_are_the_contact_pages_own(action_db: HandoffDesk, agents) -> None:
    from pathlib import Path

    from actions.contact import SOURCE, ActionContactDetails
    from shop_profile import current_profile
    from shop_profile.wording import office_hours

    profile = current_profile()  # the demo shop's shop.yml, which must agree with the demo shop's contact page
    PHONE_UK, SUPPORT_EMAIL = profile.contact.phone, profile.contact.email
    page = " ".join((Path(__file__).resolve().parents[2] / "knowledge/docs/contact.md").read_text().split())
    assert all(fact in page for fact in (PHONE_UK, profile.contact.phone_international, SUPPORT_EMAIL,
                                         office_hours(profile.office_hours), f"title: {SOURCE}",
                                         profile.warehouse.address))
    dispatcher = CollectingDispatcher()
    assert ActionContactDetails().run(dispatcher, tracker([user_event("can I call you?", "contact_customer_service")]),
                                      DOMAIN) == []
    text = dispatcher.messages[0]["text"]
    assert PHONE_UK in text and SUPPORT_EMAIL in text and "No one is online right now" in text
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/contact_human_agent"
    assert action_db.open_for_conversation("conv-7") is None  # answered, not handed over
    action_db.touch_agent(agents["alice"].id)
    dispatcher = CollectingDispatcher()
    ActionContactDetails().run(dispatcher, tracker([user_event("phone number?", "contact_customer_service")]), DOMAIN)
    assert "online now: shall I connect you?" in dispatcher.messages[0]["text"]


def test_a_waiting_conversation_is_acknowledged_until_an_agent_claims_it(action_db: HandoffDesk, agents,
                                                                         store_url: str) -> None:
    from bot.channels.paused_reply import PausedReplies

    replies = PausedReplies(store_url)
    assert replies.acknowledgement_sync("conv-20") is None  # not waiting for anyone
    action_db.open_handoff("conv-19", "requested")
    handoff = action_db.open_handoff("conv-20", "requested")
    action_db.touch_agent(agents["alice"].id)
    assert "You're number 2 in the queue" in replies.acknowledgement_sync("conv-20")
    assert "next in line" in replies.acknowledgement_sync("conv-19")
    action_db.set_away(agents["alice"].id)
    assert "No one is online right now" in replies.acknowledgement_sync("conv-20")
    assert action_db.claim(handoff.id, agents["alice"].id)
    assert replies.acknowledgement_sync("conv-20") is None  # the agent is chatting: they answer
    assert PausedReplies("sqlite:////nonexistent/dir/x.db").acknowledgement_sync("conv-20") is None
