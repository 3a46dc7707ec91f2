"""SetFit-style contrastive tuning of a sentence encoder, for the encoder study (bench/nlu_report.py --setfit).

SetFit (Tunstall et al., 2022) tunes the encoder body so that sentences of one intent pull together and others
push apart, then fits a logistic-regression head on the tuned vectors. Here the body is tuned with a supervised
contrastive loss (Khosla et al., 2020) on P x K batches (P intents, K sentences each, so every anchor has
positives), which is SetFit's pair objective taken over whole batches instead of sampled pairs.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from bench.nlu_benchmark import FrozenEmbeddingSystem


def supervised_contrastive_loss(vectors, labels, temperature: float):
    """Mean over anchors of -log(sum of exp-similarity to positives / sum over all others); vectors unit-length."""
    import torch

    similarity = vectors @ vectors.T / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_all = torch.logsumexp(similarity, dim=1)
    log_positive = torch.logsumexp(similarity.masked_fill(~positives, float("-inf")), dim=1)
    has_positive = positives.any(dim=1)
    return (log_all - log_positive)[has_positive].mean()


class ContrastiveEmbeddingSystem(FrozenEmbeddingSystem):
    """The frozen system's encoder, first tuned contrastively on the training rows (SetFit's body step)."""

    def tune(self, examples: list[dict[str, Any]], steps: int = 300, intents_per_batch: int = 16,
             per_intent: int = 4, learning_rate: float = 2e-5, temperature: float = 0.05, seed: int = 0) -> None:
        torch = self.torch
        rng = random.Random(seed)
        torch.manual_seed(seed)
        by_intent: dict[str, list[str]] = defaultdict(list)
        for example in examples:
            by_intent[example["intent"]].append(example["text"])
        intents = sorted(i for i, texts in by_intent.items() if len(texts) >= 2)
        label_of = {intent: n for n, intent in enumerate(intents)}
        optimiser = torch.optim.AdamW(self.encoder.parameters(), lr=learning_rate, weight_decay=0.01)
        self.encoder.train()
        for _ in range(steps):
            chosen = rng.sample(intents, min(intents_per_batch, len(intents)))
            texts, labels = [], []
            for intent in chosen:
                picked = rng.sample(by_intent[intent], min(per_intent, len(by_intent[intent])))
                texts += picked
                labels += [label_of[intent]] * len(picked)
            vectors = self._pooled(texts, grad=True)
            loss = supervised_contrastive_loss(vectors, torch.tensor(labels), temperature)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.encoder.eval()
