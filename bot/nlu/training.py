"""Fine-tuning loop: joint intent + BIO loss, class weights, typo augmentation, early stopping, seeds."""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from bot.nlu.alignment import IGNORED_LABEL, bio_labels
from bot.nlu.augment import add_typos
from bot.nlu.model import JointIntentEntityModel

logger = logging.getLogger(__name__)


@dataclass
class Example:
    """One training utterance: text, intent index and Rasa-style entity dicts (start, end, entity)."""

    text: str
    intent: int
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainingSettings:
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    label_smoothing: float = 0.1
    entity_loss_weight: float = 1.0
    class_weighting: bool = True
    typo_probability: float = 0.3
    patience: int = 2
    max_per_intent_per_epoch: int = 0  # 0 = every example every epoch
    # per-intent exceptions to that cap, e.g. {index of out_of_scope: 256}: "everything else" needs variety
    per_epoch_overrides: dict[int, int] = field(default_factory=dict)
    linear_probe_steps: int = 200  # LP-FT: L-BFGS iterations for the intent head on frozen features (0 = off)
    linear_probe_l2: float = 1e-5
    # WiSE-FT (Wortsman et al., 2022): final encoder + intent head = alpha * fine-tuned + (1 - alpha) * the
    # linear-probe model (pre-trained encoder + probe head). 1.0 = plain fine-tuning. Robust to new wording.
    wise_ft_alpha: float = 1.0
    # fine-tuning runs (seeds seed, seed+1, ...) from the same linear-probe start, averaged in weight space
    soup_size: int = 1
    tag_head_learning_rate: float = 5e-3
    max_length: int = 64
    seed: int = 42
    show_progress: bool = True


@dataclass
class TrainingResult:
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]]


def set_seeds(seed: int) -> None:
    """Same data and seed -> same model (up to non-deterministic kernels on GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def class_weights(intents: Sequence[int], count: int) -> torch.Tensor:
    """Inverse square-root frequency weights, mean 1: rare intents count more without drowning the rest."""
    frequency = Counter(intents)
    raw = torch.tensor([1.0 / math.sqrt(frequency.get(i, 0) or 1) for i in range(count)])
    present = torch.tensor([frequency.get(i, 0) > 0 for i in range(count)])
    return raw / raw[present].mean() if present.any() else raw


def encode_batch(
    tokenizer: PreTrainedTokenizerBase, examples: Sequence[Example], tag_index: dict[str, int], max_length: int
) -> dict[str, torch.Tensor]:
    """Tokenise, pad to the longest in the batch and attach intent and BIO labels."""
    encoded = tokenizer(
        [e.text for e in examples],
        truncation=True,
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    tags = [
        bio_labels([tuple(o) for o in offsets], e.entities, tag_index)
        for offsets, e in zip(encoded["offset_mapping"].tolist(), examples, strict=True)
    ]
    attention = encoded["attention_mask"]
    tag_tensor = torch.tensor(tags)
    tag_tensor[attention == 0] = IGNORED_LABEL
    return {
        "input_ids": encoded["input_ids"],
        "attention_mask": attention,
        "intents": torch.tensor([e.intent for e in examples]),
        "tags": tag_tensor,
    }


def balanced_sample(
    examples: Sequence[Example], cap: int, rng: random.Random, overrides: dict[int, int] | None = None
) -> list[Example]:
    """At most `cap` examples per intent (`overrides[intent]` where given), drawn afresh each epoch (0 = all).

    Template data sets repeat each phrasing many times; capping per intent keeps an epoch's cost bounded
    (minutes on a 2-core CPU), balances frequent against rare intents, and over several epochs still shows
    the model different examples.
    """
    if cap <= 0:
        return list(examples)
    by_intent: dict[int, list[Example]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example)
    chosen: list[Example] = []
    for intent in sorted(by_intent):
        members, limit = by_intent[intent], (overrides or {}).get(intent, cap)
        chosen += members if len(members) <= limit else rng.sample(members, limit)
    return chosen


def _augment(examples: Sequence[Example], probability: float, rng: random.Random) -> list[Example]:
    augmented = []
    for example in examples:
        if probability > 0 and rng.random() < probability:
            text, entities = add_typos(example.text, example.entities, rng)
            example = Example(text, example.intent, entities)
        augmented.append(example)
    return augmented


class JointTrainer:
    """Runs the fine-tuning; keeps the weights of the epoch with the lowest validation loss."""

    def __init__(
        self,
        model: JointIntentEntityModel,
        tokenizer: PreTrainedTokenizerBase,
        tag_index: dict[str, int],
        intent_count: int,
        settings: TrainingSettings,
        device: torch.device,
    ) -> None:
        self.model, self.tokenizer, self.tag_index = model, tokenizer, tag_index
        self.intent_count, self.settings, self.device = intent_count, settings, device

    def _losses(self, batch: dict[str, torch.Tensor], weights: torch.Tensor | None, smoothing: float):
        batch = {k: v.to(self.device) for k, v in batch.items()}
        intent_logits, tag_logits = self.model(batch["input_ids"], batch["attention_mask"])
        intent_loss = nn.functional.cross_entropy(
            intent_logits, batch["intents"], weight=weights, label_smoothing=smoothing
        )
        if (batch["tags"] != IGNORED_LABEL).any() and len(self.tag_index) > 1:
            tag_loss = nn.functional.cross_entropy(
                tag_logits.reshape(-1, tag_logits.shape[-1]), batch["tags"].reshape(-1), ignore_index=IGNORED_LABEL
            )
        else:
            tag_loss = intent_logits.new_zeros(())
        return intent_loss, tag_loss, intent_logits

    def _batches(self, examples: Sequence[Example], shuffle: bool, rng: random.Random):
        """Length-bucketed batches: shuffle, sort within pools of 50 batches, shuffle the batch order.

        Padding to the longest text in a batch wastes most of the compute when short and long texts mix; on a
        2-core CPU that is the difference between minutes and tens of minutes.
        """
        order = list(range(len(examples)))
        if shuffle:
            rng.shuffle(order)
        size = self.settings.batch_size
        pool = size * 50
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: len(examples[i].text))
            batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        if shuffle:
            rng.shuffle(batches)
        for batch in batches:
            yield encode_batch(self.tokenizer, [examples[i] for i in batch], self.tag_index, self.settings.max_length)

    def evaluate(self, examples: Sequence[Example]) -> tuple[float, float, torch.Tensor, torch.Tensor]:
        """(validation loss, intent accuracy, intent logits, intent labels) without dropout or smoothing."""
        self.model.eval()
        total, count, logits, labels = 0.0, 0, [], []
        with torch.inference_mode():
            for batch in self._batches(examples, shuffle=False, rng=random.Random(0)):
                intent_loss, tag_loss, intent_logits = self._losses(batch, None, 0.0)
                size = len(batch["intents"])
                total += (intent_loss.item() + self.settings.entity_loss_weight * tag_loss.item()) * size
                count += size
                logits.append(intent_logits.float().cpu())
                labels.append(batch["intents"])
        self.model.train()
        if not count:
            return math.inf, 0.0, torch.empty(0, self.intent_count), torch.empty(0, dtype=torch.long)
        logits_tensor, labels_tensor = torch.cat(logits), torch.cat(labels)
        accuracy = float((logits_tensor.argmax(-1) == labels_tensor).float().mean())
        return total / count, accuracy, logits_tensor, labels_tensor

    def sentence_vectors(self, examples: Sequence[Example]) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean-pooled sentence vectors [n, hidden], their intents [n]) in eval mode, in batch order."""
        self.model.eval()
        vectors, labels = [], []
        with torch.inference_mode():
            for batch in self._batches(examples, shuffle=False, rng=random.Random(0)):
                ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
                vectors.append(self.model.encode(ids, mask)[1].float())
                labels.append(batch["intents"].to(self.device))
        self.model.train()
        if not vectors:
            return torch.empty(0, self.model.encoder.config.hidden_size), torch.empty(0, dtype=torch.long)
        return torch.cat(vectors), torch.cat(labels)

    def _linear_probe(self, train: Sequence[Example], weights: torch.Tensor | None) -> None:
        """LP-FT (Kumar et al., 2022): fit the intent head on the pre-trained sentence vectors before fine-tuning.

        Fine-tuning from a random head distorts the pre-trained features most in the first steps; starting from
        a fitted head keeps them, which generalises better to wording the training set lacks, and lets a few
        fine-tuning epochs suffice. Costs one forward pass over (a sample of) the training data.
        """
        features, labels = self.sentence_vectors(train)
        inputs, targets = features.clone(), labels.clone()  # out of inference mode: autograd needs them
        head = self.model.intent_head
        # full-batch L-BFGS with a small L2 penalty: the converged multinomial logistic regression
        optimiser = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=self.settings.linear_probe_steps)

        def closure() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(head(inputs), targets, weight=weights)
            loss = loss + self.settings.linear_probe_l2 * head.weight.pow(2).sum()
            loss.backward()
            return loss

        loss = optimiser.step(closure)
        logger.info("BertJointClassifier: linear probe loss %.3f on %d examples", float(loss), len(targets))

    def fit(self, train: Sequence[Example], validation: Sequence[Example]) -> TrainingResult:
        """Linear probe, then `soup_size` fine-tuning runs from that same start, averaged in weight space."""
        settings = self.settings
        set_seeds(settings.seed)
        rng = random.Random(settings.seed)
        self.model.to(self.device).train()
        weights = class_weights([e.intent for e in train], self.intent_count).to(self.device)
        weights = weights if settings.class_weighting else None
        if settings.linear_probe_steps > 0:
            doubled = {intent: 2 * cap for intent, cap in settings.per_epoch_overrides.items()}
            self._linear_probe(balanced_sample(train, 2 * settings.max_per_intent_per_epoch, rng, doubled), weights)
        probe_state = self._interpolated_part() if settings.wise_ft_alpha < 1.0 else None
        runs = max(1, settings.soup_size)
        start = self._state_copy() if runs > 1 else None  # the soup's common starting point
        members: list[dict[str, torch.Tensor]] = []
        best_epochs: list[int] = []
        history: list[dict[str, float]] = []
        for member in range(runs):
            if start is not None and member:  # the same start, another data order, augmentation and dropout
                self.model.load_state_dict(start)
                set_seeds(settings.seed + member)
                rng = random.Random(settings.seed + member)
            best_epoch, run_history = self._fine_tune(train, validation, weights, rng)
            best_epochs.append(best_epoch)
            if start is None:
                history += run_history
            else:
                history += [{**record, "member": member} for record in run_history]
                members.append(self._state_copy())
        if members:
            self._average(members)
        if probe_state is not None:
            self._interpolate(probe_state, settings.wise_ft_alpha)
        self.model.eval()
        return TrainingResult(max(best_epochs), len(history), history)

    def _fine_tune(
        self,
        train: Sequence[Example],
        validation: Sequence[Example],
        weights: torch.Tensor | None,
        rng: random.Random,
    ) -> tuple[int, list[dict[str, float]]]:
        """One fine-tuning run; leaves the model at its epoch of lowest validation loss. (best epoch, history)"""
        settings = self.settings
        self.model.train()
        encoder_params = [p for p in self.model.encoder.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(
            [
                {"params": encoder_params, "lr": settings.learning_rate},
                {"params": self.model.intent_head.parameters(), "lr": settings.head_learning_rate},
                {"params": self.model.tag_head.parameters(), "lr": settings.tag_head_learning_rate},
            ],
            weight_decay=settings.weight_decay,
        )
        cap, overrides = settings.max_per_intent_per_epoch, settings.per_epoch_overrides
        per_epoch = len(balanced_sample(train, cap, random.Random(0), overrides))
        steps_per_epoch = math.ceil(per_epoch / settings.batch_size)
        total_steps = max(1, steps_per_epoch * settings.epochs)
        scheduler = get_linear_schedule_with_warmup(optimiser, int(settings.warmup_ratio * total_steps), total_steps)

        best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
        history: list[dict[str, float]] = []
        for epoch in range(1, settings.epochs + 1):
            progress = tqdm(
                self._batches(
                    _augment(
                        balanced_sample(train, cap, rng, overrides), settings.typo_probability, rng
                    ),
                    shuffle=True,
                    rng=rng,
                ),
                total=steps_per_epoch,
                desc=f"epoch {epoch}/{settings.epochs}",
                disable=not settings.show_progress,
                leave=False,
            )
            running = 0.0
            for step, batch in enumerate(progress, start=1):
                intent_loss, tag_loss, _ = self._losses(batch, weights, settings.label_smoothing)
                loss = intent_loss + settings.entity_loss_weight * tag_loss
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimiser.step()
                scheduler.step()
                running += loss.item()
                progress.set_postfix(loss=f"{running / step:.3f}")
            record = {"epoch": epoch, "train_loss": running / max(1, steps_per_epoch)}
            if validation:
                val_loss, val_accuracy, _, _ = self.evaluate(validation)
                record.update(val_loss=val_loss, val_accuracy=val_accuracy)
            history.append(record)
            logger.info("BertJointClassifier %s", record)
            if not validation:
                continue
            if record["val_loss"] < best_loss - 1e-4:
                best_loss, best_epoch, stale = record["val_loss"], epoch, 0
                best_state = self._state_copy()
            else:
                stale += 1
                if stale >= settings.patience:
                    logger.info("Early stopping after epoch %d (best epoch %d)", epoch, best_epoch)
                    break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return best_epoch or len(history), history

    def _state_copy(self) -> dict[str, torch.Tensor]:
        """Every weight and buffer, detached, on the CPU (snapshots for early stopping and the soup)."""
        return {k: v.detach().clone().cpu() for k, v in self.model.state_dict().items()}

    @torch.no_grad()
    def _average(self, members: Sequence[dict[str, torch.Tensor]]) -> None:
        """Uniform model soup (Wortsman et al., 2022): runs from one start share a basin, so their mean is a
        model too, one that generalises better than its members at no extra inference cost."""
        state = self.model.state_dict()
        for key, value in state.items():
            if value.is_floating_point():
                value.copy_(torch.stack([m[key] for m in members]).mean(0).to(value.device))

    def _interpolated_part(self) -> dict[str, torch.Tensor]:
        """A copy of the weights WiSE-FT blends: encoder and intent head (the BIO head has no probe to go back to)."""
        state = self.model.state_dict()
        return {k: v.detach().clone().cpu() for k, v in state.items() if not k.startswith("tag_head.")}

    @torch.no_grad()
    def _interpolate(self, start: dict[str, torch.Tensor], alpha: float) -> None:
        state = self.model.state_dict()
        for key, before in start.items():
            if state[key].is_floating_point():
                state[key].copy_(alpha * state[key] + (1 - alpha) * before.to(state[key].device))
