"""Batched CPU/GPU inference: intent probabilities (temperature-scaled) and entities for a list of texts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from bot.nlu.alignment import TokenTag, decode_entities, is_special, mask_digits, merge_windows

if TYPE_CHECKING:
    from bot.nlu.onnx_runtime import OnnxJointModel


@dataclass
class Prediction:
    intent_probabilities: list[float]
    entities: list[dict[str, Any]]


class JointPredictor:
    """Wraps a trained model; long texts are cut into overlapping windows so entities anywhere are found.

    The intent comes from the first window (the opening of a message carries the request), entities from all.
    """

    def __init__(
        self,
        model: nn.Module | OnnxJointModel,  # torch (eager or int8) or the same model under ONNX Runtime
        tokenizer: PreTrainedTokenizerBase,
        tag_names: Sequence[str],
        temperature: float,
        max_length: int,
        device: torch.device,
        batch_size: int = 64,
        max_windows: int = 64,
        digits_masked: bool = False,
    ) -> None:
        self.model, self.tokenizer, self.tag_names = model, tokenizer, list(tag_names)
        self.temperature, self.max_length, self.device = temperature, max(8, max_length), device
        self.batch_size, self.max_windows = batch_size, max_windows
        self.digits_masked = digits_masked  # the model was trained on mask_digits(text): encode the same way
        self.model.eval()

    def _windows(self, texts: Sequence[str]) -> tuple[dict[str, Any], list[int]]:
        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            stride=self.max_length // 4,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        owners = list(encoded["overflow_to_sample_mapping"])
        keep, seen = [], Counter()
        for index, owner in enumerate(owners):
            seen[owner] += 1
            if seen[owner] <= self.max_windows:
                keep.append(index)
        windows = {key: [encoded[key][i] for i in keep] for key in ("input_ids", "attention_mask", "offset_mapping")}
        return windows, [owners[i] for i in keep]

    @torch.inference_mode()
    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        texts = [t if isinstance(t, str) else "" for t in texts]
        windows, owners = self._windows([mask_digits(t) for t in texts] if self.digits_masked else texts)
        intent_logits: dict[int, torch.Tensor] = {}
        tokens: dict[int, list[list[TokenTag]]] = {i: [] for i in range(len(texts))}
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(owners), self.batch_size):
            ids = windows["input_ids"][start : start + self.batch_size]
            width = max(len(x) for x in ids)
            input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=self.device)
            mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=self.device)
            logits, tag_logits = self.model(input_ids, mask)
            tag_probabilities = tag_logits.float().softmax(-1).cpu()
            for row, window_index in enumerate(range(start, start + len(ids))):
                owner = owners[window_index]
                if owner not in intent_logits:
                    intent_logits[owner] = logits[row].float().cpu()
                if len(self.tag_names) > 1:
                    tokens[owner].append(self._tags(windows["offset_mapping"][window_index], tag_probabilities[row]))
        predictions = []
        for index, text in enumerate(texts):
            probabilities = (intent_logits[index] / self.temperature).softmax(-1).tolist()
            entities = decode_entities(text, merge_windows(tokens[index])) if tokens[index] else []
            predictions.append(Prediction(probabilities, entities))
        return predictions

    def _tags(self, offsets: Sequence[tuple[int, int]], probabilities: torch.Tensor) -> list[TokenTag]:
        confidence, best = probabilities.max(-1)
        return [
            TokenTag(int(o[0]), int(o[1]), self.tag_names[int(best[i])], float(confidence[i]))
            for i, o in enumerate(offsets)
            if not is_special(tuple(o))
        ]
