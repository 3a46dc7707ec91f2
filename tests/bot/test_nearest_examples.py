"""NearestExampleGate through real Rasa: train_nlu -> archive -> Agent.parse_message, with the real MiniLM encoder.

A cheap upstream classifier (bag of words + logistic regression) must give every message some shop intent;
the gate sends those whose nearest training examples are out-of-scope ones to `nlu_fallback`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NLU = """version: "3.1"
nlu:
- intent: track_order
  examples: |
    - where is my order
    - track my parcel please
    - has my package shipped yet
    - when will my delivery arrive
    - is my order on its way
- intent: get_refund
  examples: |
    - I want my money back
    - can I get a refund for my order
    - refund me please
    - how do I get reimbursed for the item
- intent: out_of_scope
  examples: |
    - how do I change the oil in my car
    - what's the weather like tomorrow
    - tell me a recipe for pancakes
    - who won the football match last night
    - how tall is mount everest
    - set an alarm for 7am
"""

CONFIG = """recipe: default.v1
language: en
assistant_id: gate_test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: LogisticRegressionClassifier
  - name: FallbackClassifier
    threshold: 0.0
    ambiguity_threshold: 0.0
  - name: bot.nlu.nearest_examples.NearestExampleGate
    neighbours: 2
    margin: 0.05
policies: []
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    root: Path = tmp_path_factory.mktemp("gate")
    (root / "nlu.yml").write_text(NLU)
    (root / "config.yml").write_text(CONFIG)
    archive = train_nlu(str(root / "config.yml"), str(root / "nlu.yml"), str(root / "models"))
    assert archive
    return Agent.load(archive)


def parse(agent, text: str) -> dict:
    return asyncio.run(agent.parse_message(text))


def test_a_shop_question_passes_with_its_scores(agent) -> None:
    result = parse(agent, "where's my parcel got to?")
    assert result["intent"]["name"] == "track_order"
    scores = result["nearest_examples"]
    assert scores["passed"] and scores["inside"] - scores["outside"] >= 0.05


def test_an_unrelated_question_becomes_the_fallback(agent) -> None:
    result = parse(agent, "when will my alarm go off")  # "when will my" reads as tracking to bag-of-words
    assert result["intent"]["name"] == "nlu_fallback"
    assert result["nearest_examples"]["passed"] is False
    ranking = [r["name"] for r in result["intent_ranking"]]
    assert ranking[0] == "nlu_fallback" and len(ranking) > 1  # the classifiers' ranking is kept behind it


def test_predicted_out_of_scope_is_left_as_it_is(agent) -> None:
    result = parse(agent, "how do I change the oil in my car")
    assert result["intent"]["name"] == "out_of_scope"
    assert "nearest_examples" not in result


@pytest.mark.parametrize("text", ["", "   ", "x" * 5000, "😀😀😀", "\x00\x01"])
def test_bad_input_never_raises(agent, text: str) -> None:
    assert parse(agent, text)["intent"]["name"]


def test_an_archive_without_vectors_lets_everything_pass(tmp_path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.nearest_examples import NearestExampleGate

    gate = NearestExampleGate.load({}, LocalModelStorage(tmp_path), Resource("missing"),
                                   ExecutionContext(GraphSchema({}), "test"))
    message = Message.build(text="how tall is mount everest")
    message.set("intent", {"name": "track_order", "confidence": 0.9})
    assert gate.process([message])[0].get("intent")["name"] == "track_order"


def test_served_vectors_are_the_trained_ones() -> None:
    """Serving runs the encoder under ONNX Runtime; its vectors must be the ones training stored (PyTorch)."""
    import numpy as np

    from bot.nlu.model import default_encoder_path
    from bot.nlu.nearest_examples import SentenceEncoder

    texts = ["where is my parcel", "how tall is mount everest", "a much longer message " * 20]
    trained = SentenceEncoder(default_encoder_path(), 128).embed(texts)
    served = SentenceEncoder(default_encoder_path(), 128, serving=True)
    assert served.runnable is not served.model  # really ONNX Runtime
    assert np.allclose(served.embed(texts), trained, atol=1e-4)
