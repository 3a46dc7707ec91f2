"""The Rasa-side half of the handoff: VADER sentiment stored with each message, and the policy that
hands the conversation to a person (on explicit request, anger, two misses in a row, knowledge-base
misses), abstaining otherwise and never while paused or right after handing off."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.sentiment import SentimentAnalyzer
from bot.policies.handoff import HandoffPolicy

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, complaint, contact_human_agent, contact_customer_service, out_of_scope, track_order]
slots:
  kb_misses:
    type: float
    influence_conversation: false
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: hi}]
actions: [action_handoff_to_human, action_answer_from_knowledge]
""")
NO_KB = Domain.from_yaml("""
version: "3.1"
intents: [greet, complaint, contact_human_agent, out_of_scope]
responses:
  utter_greet: [{text: hi}]
actions: [action_handoff_to_human]
""")


@pytest.fixture
def policy(tmp_path) -> HandoffPolicy:  # type: ignore[no-untyped-def]
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return HandoffPolicy.create(HandoffPolicy.get_default_config(), storage, Resource("handoff"), context)


def user(text: str, intent: str, compound: float = 0.0) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9},
                       parse_data={"sentiment": {"compound": compound}})


def predicted(policy: HandoffPolicy, events: list[Any], domain: Domain = DOMAIN) -> str | None:
    tracker = DialogueStateTracker.from_events("c1", [ActionExecuted("action_listen"), *events], domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return domain.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


LISTEN = ActionExecuted("action_listen")


def test_hands_off_on_request_anger_and_two_misses(policy: HandoffPolicy) -> None:
    assert predicted(policy, [user("a human please", "contact_human_agent")]) == "action_handoff_to_human"
    assert predicted(policy, [user("I hate this stupid bot!!", "complaint", -0.9)]) == "action_handoff_to_human"
    two_misses = [user("blah", "out_of_scope"), ActionExecuted("utter_greet"), LISTEN,
                  user("blah blah", "nlu_fallback")]
    assert predicted(policy, two_misses, NO_KB) == "action_handoff_to_human"
    # with a knowledge base (kb_misses slot) it answers NLU misses and counts its own misses instead
    assert predicted(policy, two_misses) is None
    assert policy.priority > 6  # wins over the RulePolicy's rule for the same message


def test_abstains_otherwise(policy: HandoffPolicy) -> None:
    assert predicted(policy, [user("hello", "greet")]) is None
    assert predicted(policy, [user("my parcel arrived damaged", "complaint", -0.44)]) is None
    assert predicted(policy, [user("blah", "out_of_scope")]) is None
    assert predicted(policy, [user("can I call you?", "contact_customer_service")]) is None  # answered instead


def test_never_twice_nor_while_paused_nor_right_after_a_resume(policy: HandoffPolicy) -> None:
    ask = user("a human please", "contact_human_agent")
    assert predicted(policy, [ask, ActionExecuted("action_handoff_to_human")]) is None
    assert predicted(policy, [ask, ActionExecuted("action_handoff_to_human"), ConversationPaused(), LISTEN,
                              user("hello?", "greet")]) is None
    miss = user("blah", "out_of_scope")
    assert predicted(policy, [miss, ConversationResumed(), LISTEN, user("blah", "nlu_fallback")], NO_KB) is None


def test_knowledge_base_misses(policy: HandoffPolicy) -> None:
    events = [user("what about warp drives", "nlu_fallback"), ActionExecuted("action_answer_from_knowledge"),
              SlotSet("kb_misses", 2.0)]
    assert predicted(policy, events) == "action_handoff_to_human"
    assert predicted(policy, [*events[:2], SlotSet("kb_misses", 1.0)]) is None


def test_inert_until_the_domain_has_the_action(policy: HandoffPolicy) -> None:
    bare = Domain.from_yaml('version: "3.1"\nintents: [contact_human_agent]\nresponses:\n  utter_x: [{text: x}]\n')
    assert predicted(policy, [user("a human please", "contact_human_agent")], bare) is None


def test_sentiment_is_stored_with_every_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    component = SentimentAnalyzer.create({}, LocalModelStorage(tmp_path), Resource("s"),
                                         ExecutionContext(GraphSchema({}), "test"))
    angry, calm = Message(data={"text": "You are useless!! I hate this stupid bot"}), Message(data={"text": "hi"})
    component.process([angry, calm])
    assert angry.get("sentiment")["compound"] < -0.6 and calm.get("sentiment")["compound"] == 0.0
    assert "sentiment" in angry.as_dict(only_output_properties=True)
