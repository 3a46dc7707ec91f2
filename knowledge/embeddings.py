"""Sentence-transformers encoder, loaded once per process and model directory.

Loading the model costs seconds; the action server answers many messages, so every caller goes through
`load_encoder`, which caches by directory.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class ModelNotFoundError(RuntimeError):
    """The configured embedding model directory does not exist or is not a sentence-transformers model."""


@lru_cache(maxsize=4)
def load_encoder(model_dir: str) -> SentenceTransformer:
    """Load a local sentence-transformers checkpoint (never from a model hub)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not os.path.isdir(model_dir):
        raise ModelNotFoundError(f"embedding model directory not found: {model_dir}")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter CLI and server logs
    try:
        return SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(f"cannot load an embedding model from {model_dir}: {error}") from error


def model_label(model_dir: str) -> str:
    """A short, stable name for a model directory, stored with the collection to catch model changes."""
    path = os.path.normpath(os.path.abspath(model_dir))
    if path.endswith(os.sep + "model"):
        path = os.path.dirname(path)
    return os.path.basename(path)


def embedding_dimension(model_dir: str) -> int:
    encoder = load_encoder(model_dir)
    getter = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(getter())


_CACHE_SIZE = 4096
_recent: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_recent_lock = threading.Lock()


def encode(model_dir: str, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 embeddings, so a dot product is the cosine similarity.

    Recently encoded texts are remembered (re-ingesting a folder, answer sentences, repeated questions):
    encoding is the expensive step on a CPU.
    """
    with _recent_lock:
        known = {text: _recent[(model_dir, text)] for text in texts if (model_dir, text) in _recent}
    missing = list(dict.fromkeys(text for text in texts if text not in known))
    if missing:
        encoder = load_encoder(model_dir)
        vectors = encoder.encode(
            missing, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        with _recent_lock:
            for text, vector in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                vector.setflags(write=False)
                known[text] = vector
                _recent[(model_dir, text)] = vector
                _recent.move_to_end((model_dir, text))
            while len(_recent) > _CACHE_SIZE:
                _recent.popitem(last=False)
    if not texts:
        return np.zeros((0, embedding_dimension(model_dir)), dtype=np.float32)
    return np.stack([known[text] for text in texts])


def forget_recent() -> None:
    """Drop remembered embeddings (benchmarks time real encoding)."""
    with _recent_lock:
        _recent.clear()


def limit_threads(threads: int) -> None:
    """Encode with at most `threads` torch threads in this process.

    A question is one short text: splitting its forward pass over several threads gains little and, on a
    busy CPU, the threads wait for each other at every layer (measured on the 2-core dev machine under
    load: p50 15 ms with one thread against 200+ ms with two). Serving processes (the action server) call
    this once; batch ingestion keeps torch's default.
    """
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
