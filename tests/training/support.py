"""Shared by the training-loop tests: a tiny Rasa project (trains in seconds) and a tracker store written
row by row exactly as Rasa's SQLTrackerStore writes it (`events`: sender_id, type_name, timestamp,
intent_name, action_name, data = the event's JSON)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert

from training.logs import events as events_table
from training.logs import metadata as tracker_metadata
from training.settings import TrainingSettings

ROOT = Path(__file__).resolve().parents[2]
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"

CONFIG = """\
# Tiny, fast pipeline for the training-loop tests: bag of words + char n-grams, logistic regression.
recipe: default.v1
language: en
assistant_id: shopdesk_training_tests
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: LogisticRegressionClassifier
    max_iter: 200
    random_state: 7
  - name: RegexEntityExtractor
    use_regexes: true
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
"""

# A deliberately bad pipeline (exact keyword matches only) for the regression gate.
WORSE_CONFIG = """\
recipe: default.v1
language: en
assistant_id: shopdesk_training_tests
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
"""

DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, track_order, cancel_order, out_of_scope]
entities: [order_id, email]
responses:
  utter_greet: [{text: "Hello! How can I help?"}]
  utter_goodbye: [{text: "Bye!"}]
  utter_track: [{text: "Let me track that order."}]
  utter_cancel: [{text: "I'll cancel that order."}]
  utter_oos: [{text: "Sorry, I can't help with that."}]
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: false
"""

NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hello there
    - hi
    - good evening
    - hey there
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - see you later
    - bye bye
    - see you
    - good night
    - talk to you later
    - farewell
- intent: track_order
  examples: |
    - where is my order
    - track my order [581142](order_id)
    - where is my package
    - has my order shipped
    - when will my order arrive
    - track order
    - what is the status of my order
    - is my order on its way
- intent: cancel_order
  examples: |
    - cancel my order
    - I want to cancel order [581142](order_id)
    - please cancel it
    - cancel the order
    - I no longer want my order, cancel it
    - stop my order from being sent
    - can you cancel my purchase
    - cancel order [581143](order_id) please
- intent: out_of_scope
  examples: |
    - what is the weather
    - tell me a joke
    - who won the football
    - what is the capital of france
    - sing me a song
- regex: order_id
  examples: |
    - \\b\\d{6}\\b
"""

RULES = """\
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: goodbye
  steps: [{intent: goodbye}, {action: utter_goodbye}]
- rule: track
  steps: [{intent: track_order}, {action: utter_track}]
- rule: cancel
  steps: [{intent: cancel_order}, {action: utter_cancel}]
- rule: out of scope
  steps: [{intent: out_of_scope}, {action: utter_oos}]
"""

TEST_STORIES = """\
version: "3.1"
stories:
- story: say hello
  steps:
  - user: |
      hello
    intent: greet
  - action: utter_greet
"""


def write_project(root: Path, tracker_url: str = "", cache_dir: Path | None = None) -> TrainingSettings:
    """The tiny project under `root`; returns settings that keep every path (and Rasa's cache) inside it."""
    (root / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "stories").mkdir(exist_ok=True)
    (root / "config.yml").write_text(CONFIG)
    (root / "worse_config.yml").write_text(WORSE_CONFIG)
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "nlu" / "base.yml").write_text(NLU)
    (root / "data" / "rules.yml").write_text(RULES)
    (root / "stories" / "test_basics.yml").write_text(TEST_STORIES)
    return TrainingSettings(
        tracker_url=tracker_url or f"sqlite:///{root / 'tracker.db'}", data_dir=root / "data",
        domain=root / "domain.yml", config=root / "config.yml", models_dir=root / "models",
        test_stories_dir=root / "stories", work_dir=root / "work", rasa_bin=RASA_BIN,
        rasa_cache_dir=str(cache_dir or root / "rasa-cache"), rasa_timeout_s=600)


class TrackerWriter:
    """Appends events to a tracker store the way SQLTrackerStore.save does (one row per event)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        tracker_metadata.create_all(self.engine)
        # an hour back, but never before today's UTC midnight: tests that filter by "today" must not
        # depend on the hour they run
        now = time.time()
        self.clock = max(now - 3600, now - now % 86400 + 1)

    def _event(self, sender: str, event: dict[str, Any]) -> int:
        self.clock += 1.5
        event = {"timestamp": self.clock, "metadata": {"model_id": "tests"}, **event}
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        with self.engine.begin() as connection:
            result = connection.execute(insert(events_table).values(
                sender_id=sender, type_name=event["event"], timestamp=event["timestamp"], intent_name=intent,
                action_name=event.get("name"), data=json.dumps(event)))
            return int(result.inserted_primary_key[0])

    def start(self, sender: str) -> None:
        self._event(sender, {"event": "action", "name": "action_session_start", "policy": None, "confidence": 1.0})
        self._event(sender, {"event": "session_started"})
        self._event(sender, {"event": "action", "name": "action_listen", "policy": None, "confidence": None})

    def user(self, sender: str, text: str, intent: str, confidence: float, entities: list[dict[str, Any]] | None = None,
             channel: str = "rest", ranking: list[tuple[str, float]] | None = None) -> int:
        """`ranking`: the model's intent ranking (default: just the predicted intent)."""
        ranked = [{"name": name, "confidence": score} for name, score in ranking or [(intent, confidence)]]
        return self._event(sender, {
            "event": "user", "text": text, "input_channel": channel, "message_id": uuid.uuid4().hex,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
                           "text": text, "message_id": uuid.uuid4().hex, "metadata": {},
                           "intent_ranking": ranked}})

    def bot_turn(self, sender: str, action: str, text: str, agent: str | None = None) -> None:
        self._event(sender, {"event": "user_featurization", "use_text_for_featurization": False})
        self._event(sender, {"event": "action", "name": action, "policy": "RulePolicy", "confidence": 1.0})
        metadata = {"utter_action": action, **({"shopdesk_agent": agent} if agent else {})}
        self._event(sender, {"event": "bot", "text": text, "metadata": metadata, "data": {}})
        self._event(sender, {"event": "action", "name": "action_listen", "policy": "RulePolicy", "confidence": 1.0})

    def slot(self, sender: str, name: str, value: Any) -> None:
        self._event(sender, {"event": "slot", "name": name, "value": value})

    def raw(self, sender: str, event: dict[str, Any]) -> int:
        return self._event(sender, event)
