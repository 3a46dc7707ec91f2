"""BertJointClassifier through real Rasa: train_nlu -> model archive -> Agent.load -> parse, and `rasa test nlu`.

A toy data set and a tiny config (upper two blocks fine-tuned, short sequences, a few epochs) keep this under a
minute on two busy cores while still exercising the real training loop, persistence and inference path.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TOY_NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hiya
    - good evening
    - howdy
    - hello bot
    - hey hey
    - morning!
- intent: track_order
  examples: |
    - where is my order [12345](order_id)
    - track order [99881](order_id) please
    - status of order [55512](order_id)
    - has order [7781](order_id) shipped yet
    - where is package [44321](order_id)
    - when will order [10101](order_id) arrive
    - i want to track [66612](order_id)
    - any news on my parcel [90909](order_id)
    - is order [31337](order_id) on its way
    - track [4242](order_id)
- intent: out_of_scope
  examples: |
    - what is the weather tomorrow
    - tell me a recipe for pancakes
    - who won the football game
    - how tall is mount everest
    - play some music
    - what's the capital of france
    - set an alarm for 7am
    - how do i bake bread
    - will it rain today
    - tell me a joke about cats
"""

TINY_CONFIG = """recipe: default.v1
language: en
assistant_id: bert_joint_test
pipeline:
  - name: WhitespaceTokenizer
  - name: bot.nlu.bert_joint.BertJointClassifier
    epochs: 6
    max_length: 32
    batch_size: 8
    freeze_layers: 4
    learning_rate: 0.0003
    head_learning_rate: 0.005
    label_smoothing: 0.0
    typo_probability: 0.0
    validation_fraction: 0.0
    soup_size: 2                  # the weight-averaged path, end to end
    show_progress_bar: false
  - name: EntitySynonymMapper
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.0
policies: []
"""


@pytest.fixture(scope="module")
def toy_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bert_joint")
    (root / "nlu.yml").write_text(TOY_NLU)
    (root / "config.yml").write_text(TINY_CONFIG)
    return root


@pytest.fixture(scope="module")
def model_archive(toy_project) -> Path:
    from rasa.model_training import train_nlu

    archive = train_nlu(str(toy_project / "config.yml"), str(toy_project / "nlu.yml"), str(toy_project / "models"))
    assert archive, "rasa did not produce a model"
    return Path(archive)


@pytest.fixture(scope="module")
def agent(model_archive):
    from rasa.core.agent import Agent

    return Agent.load(str(model_archive))


def parse(agent, text: str) -> dict:
    return asyncio.run(agent.parse_message(text))


def test_fine_tuned_weights_travel_inside_the_rasa_archive(model_archive):
    with tarfile.open(model_archive) as archive:
        names = archive.getnames()
    weights = [n for n in names if n.endswith("weights.pt")]
    assert weights and any(n.endswith("meta.json") for n in names)
    assert any(n.endswith("encoder/config.json") for n in names) and any(n.endswith("tokenizer.json") for n in names)
    with tarfile.open(model_archive) as archive:
        meta_name = next(n for n in names if n.endswith("meta.json"))
        meta = json.load(archive.extractfile(meta_name))
    assert meta["intents"] == ["greet", "out_of_scope", "track_order"]
    assert meta["tag_names"] == ["O", "B-order_id", "I-order_id"]
    assert meta["normalize_sentences"] is True  # inference pools the way training did


def test_loaded_model_learnt_the_toy_intents_and_entities(agent):
    result = parse(agent, "where's my order 777?")
    assert result["intent"]["name"] == "track_order"
    entities = [e for e in result["entities"] if e["extractor"] == "BertJointClassifier"]
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in entities] == [("order_id", "777", 17, 20)]
    assert 0.0 < entities[0]["confidence_entity"] <= 1.0
    assert parse(agent, "hi there!")["intent"]["name"] == "greet"
    assert parse(agent, "is it going to rain tomorrow")["intent"]["name"] == "out_of_scope"


def test_full_ranking_is_a_probability_distribution(agent):
    result = parse(agent, "track my parcel 5551")
    ranking = result["intent_ranking"]
    names = {r["name"] for r in ranking}
    assert {"greet", "track_order", "out_of_scope"} <= names
    ours = [r for r in ranking if r["name"] != "nlu_fallback"]
    assert sum(r["confidence"] for r in ours) == pytest.approx(1.0, abs=1e-4)
    assert ours == sorted(ours, key=lambda r: -r["confidence"])


BAD_INPUTS = ["", "   ", "x" * 10_000, "😀😀😀", "🙂 " * 3000, "\x00\x01", "ñ" * 50, "order " * 2000]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_gets_a_ranking_never_an_exception(agent, text):
    result = parse(agent, text)
    assert result["intent"]["name"]
    assert result["intent_ranking"]
    assert isinstance(result["entities"], list)


def test_batch_processing_matches_single_messages(agent):
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.bert_joint import BertJointClassifier

    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    component = next(n._component for n in nodes if isinstance(getattr(n, "_component", None), BertJointClassifier))
    texts = ["hello", "where is order 4545", "recipe for soup", ""]
    batch = component.process([Message.build(text=t) for t in texts])
    singles = [component.process([Message.build(text=t)])[0] for t in texts]
    for together, alone in zip(batch, singles, strict=True):
        assert together.get("intent")["name"] == alone.get("intent")["name"]
        assert together.get("intent")["confidence"] == pytest.approx(alone.get("intent")["confidence"], abs=1e-4)


def test_rasa_test_nlu_evaluates_intents_and_entities(model_archive, toy_project, tmp_path):
    from rasa.model_testing import test_nlu

    asyncio.run(test_nlu(str(model_archive), str(toy_project / "nlu.yml"), str(tmp_path), {}))
    intent_report = json.loads((tmp_path / "intent_report.json").read_text())
    assert intent_report["accuracy"] >= 0.9
    entity_report = json.loads((tmp_path / "BertJointClassifier_report.json").read_text())
    assert entity_report["order_id"]["f1-score"] >= 0.8


def test_component_without_trained_model_leaves_messages_alone(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.bert_joint import BertJointClassifier

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    component = BertJointClassifier.load({}, storage, Resource("missing"), context)
    message = Message.build(text="hello")
    assert component.process([message])[0].get("intent") is None
    assert component.train(TrainingData([])) == Resource("missing")


def test_spans_found_by_a_regex_extractor_win_over_overlapping_encoder_spans(tmp_path):
    """Word pieces of an email can come out as fragments; the regex's exact span is kept, fragments dropped."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.bert_joint import BertJointClassifier
    from bot.nlu.inference import Prediction

    text = "order 580291, email barry.jones2@example.com"
    fragments = [("order_id", 6, 12), ("email", 20, 26), ("person_name", 26, 31), ("order_id", 31, 32)]

    class FixedPredictor:  # stands in for the encoder: the merge rule is what is under test
        def predict(self, texts):
            return [Prediction([0.9, 0.1], [{"entity": kind, "start": s, "end": e, "value": text[s:e],
                                             "confidence_entity": 0.9} for kind, s, e in fragments])]

    component = BertJointClassifier({}, LocalModelStorage(tmp_path), Resource("r"),
                                    ExecutionContext(GraphSchema({}), "test"), FixedPredictor(),
                                    ["track_order", "greet"])
    regex_email = {"entity": "email", "start": 20, "end": 44, "value": text[20:44],
                   "extractor": "RegexEntityExtractor"}
    message = Message.build(text=text)
    message.set("entities", [regex_email])
    entities = component.process([message])[0].get("entities")
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("email", "barry.jones2@example.com", "RegexEntityExtractor"),
        ("order_id", "580291", "BertJointClassifier"),
    ]


def test_per_epoch_sampling_caps_intents_and_lets_out_of_scope_use_more_variety():
    import random

    from bot.nlu.training import Example, balanced_sample

    examples = [Example(f"shop {i}", 0) for i in range(50)] + [Example(f"elsewhere {i}", 1) for i in range(300)]
    plain = balanced_sample(examples, 10, random.Random(0))
    assert sum(e.intent == 0 for e in plain) == 10 and sum(e.intent == 1 for e in plain) == 10
    wider = balanced_sample(examples, 10, random.Random(0), {1: 256})
    assert sum(e.intent == 0 for e in wider) == 10
    assert sum(e.intent == 1 for e in wider) == 256 and len({e.text for e in wider if e.intent == 1}) == 256
    assert len(balanced_sample(examples, 0, random.Random(0), {1: 5})) == len(examples)  # 0 = no cap at all


def test_model_soup_is_the_mean_of_its_members_weights():
    import torch

    from bot.nlu.model import JointIntentEntityModel, default_encoder_path, load_tokenizer
    from bot.nlu.training import JointTrainer, TrainingSettings

    path = default_encoder_path()
    model = JointIntentEntityModel.from_checkpoint(path, intent_count=2, tag_count=3)
    trainer = JointTrainer(model, load_tokenizer(path), {"O": 0}, 2, TrainingSettings(), torch.device("cpu"))
    members = []
    for scale in (1.0, 3.0):
        members.append({k: v * scale if v.is_floating_point() else v for k, v in trainer._state_copy().items()})
    expected = {k: (members[0][k] + members[1][k]) / 2 for k in members[0] if members[0][k].is_floating_point()}
    trainer._average(members)
    state = model.state_dict()
    assert all(torch.allclose(state[k], value) for k, value in expected.items())


def load_component(model_archive: Path, storage_dir: Path, **settings):
    """Our component as `rasa run` loads it from the archive, with serving `settings` over its trained config."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.nlu.bert_joint import BertJointClassifier

    storage_dir.mkdir(parents=True)
    storage, metadata = LocalModelStorage.from_model_archive(storage_dir, model_archive)
    schema = metadata.predict_schema
    node = next(node for node in schema.nodes.values() if node.uses is BertJointClassifier)
    context = ExecutionContext(schema, metadata.model_id)
    return BertJointClassifier.load({**node.config, **settings}, storage, node.resource, context)


def test_onnx_runtime_serves_by_default_with_the_torch_models_answers(model_archive, tmp_path):
    from bot.nlu.onnx_runtime import OnnxJointModel

    served = load_component(model_archive, tmp_path / "onnx")
    eager = load_component(model_archive, tmp_path / "torch", runtime="torch")
    assert isinstance(served._predictor.model, OnnxJointModel)
    assert not isinstance(eager._predictor.model, OnnxJointModel)
    # one padded batch of mixed lengths, bad input, and a text cut into several windows
    texts = ["hello", "where is order 4545 please, it is late", "recipe for soup", "", "😀😀", "order 12345 " * 40]
    for fast, reference in zip(served._predictor.predict(texts), eager._predictor.predict(texts), strict=True):
        assert fast.intent_probabilities == pytest.approx(reference.intent_probabilities, abs=1e-4)
        spans = [[(e["entity"], e["start"], e["end"], e["value"]) for e in p.entities] for p in (fast, reference)]
        assert spans[0] == spans[1]


def test_without_onnxruntime_or_with_int8_pytorch_serves(model_archive, tmp_path, monkeypatch):
    from rasa.shared.nlu.training_data.message import Message
    from torch import nn

    quantized = load_component(model_archive, tmp_path / "int8", quantize=True)
    assert isinstance(quantized._predictor.model, nn.Module)
    monkeypatch.setattr("bot.nlu.bert_joint.onnxruntime_available", lambda: False)  # the package not installed
    component = load_component(model_archive, tmp_path / "plain")
    assert isinstance(component._predictor.model, nn.Module)
    message = component.process([Message.build(text="where is my order 12345")])[0]
    assert message.get("intent")["name"] == "track_order"
