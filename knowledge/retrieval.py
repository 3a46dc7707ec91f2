"""Hybrid retrieval: dense search in Chroma, question-to-heading matching and BM25 over text and headings.

Dense embeddings find paraphrases ("send it back" ~ "return"); BM25 finds exact words (INV-, Norway, PayPal);
matching the question against what a passage is *about* (its title and heading path, or an FAQ pair's own
question, embedded on their own) finds the section a question belongs to even when the passage's body is
long or a table. Candidates are the union of the dense, body-BM25 and heading-BM25 top lists, scored by a
weighted sum (`Weights`): passage cosine + heading cosine + normalised body BM25 + normalised heading BM25.
The weights were chosen on dev data only (bench/data/kb_dev_questions.yml and the Bitext dev split of
bench/kb_benchmark.py); see docs/BENCHMARKS.md.

Mode "blend" is the previous hybrid (cosine + 0.08 x heading BM25), kept as a benchmark baseline.

Whether the best passage is relevant enough to answer from is a separate, calibrated question
(knowledge.answers): `Hit.relevance` is the cosine similarity of question and passage, which means the same
thing in every knowledge base, unlike a BM25 score or a fused score.

`get_retriever()` is the per-process entry point: it loads the embedding model once and reloads the
knowledge base snapshot only when an ingest changed it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from knowledge import store
from knowledge.embeddings import embedding_dimension, encode, limit_threads, model_label
from knowledge.lexical import LexicalIndex
from knowledge.settings import KnowledgeSettings

Mode = Literal["hybrid", "blend", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "blend", "dense", "bm25")
BODY_WEIGHT = 0.0  # "blend": lift from BM25 over the passage text (a candidate source only)
HEADING_WEIGHT = 0.08  # "blend": max lift from BM25 over title, heading path and FAQ question
CANDIDATES = 50  # how deep each ranking is read before blending
_PAGE = 2000


@dataclass(frozen=True)
class Passage:
    """A stored chunk as customers see it: text plus where it comes from."""

    id: str
    text: str
    title: str
    heading_path: str = ""
    source: str = ""
    url: str = ""
    kind: str = "passage"
    faq_id: str = ""
    faq_question: str = ""
    updated: str = ""

    @classmethod
    def from_metadata(cls, chunk_id: str, document: str, metadata: Mapping[str, Any] | None) -> Passage:
        metadata = metadata or {}
        return cls(
            id=chunk_id,
            text=str(metadata.get("text") or document),
            title=str(metadata.get("title") or ""),
            heading_path=str(metadata.get("heading_path") or ""),
            source=str(metadata.get("source") or ""),
            url=str(metadata.get("url") or ""),
            kind=str(metadata.get("kind") or "passage"),
            faq_id=str(metadata.get("faq_id") or ""),
            faq_question=str(metadata.get("faq_question") or ""),
            updated=str(metadata.get("updated") or ""),
        )


@dataclass(frozen=True)
class Weights:
    """How "hybrid" sums its signals (BM25 scores are divided by the query's best, so each is 0..1)."""

    passage: float = 1.0  # cosine of question and passage (title + headings + text, as ingested)
    heading: float = 0.25  # cosine of question and the passage's heading path / FAQ question alone
    body_bm25: float = 0.1
    heading_bm25: float = 0.0  # heading words already count through the heading cosine (dev grid: 0 best)


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # ranking score of the chosen mode (blend, cosine or BM25): only comparable within one query
    relevance: float  # cosine similarity of question and passage: comparable across queries, used for the threshold


class _Snapshot:
    """Everything read from one revision of the collection: passages, their embeddings and a BM25 index."""

    def __init__(self, collection: Any, revision: Any) -> None:
        self.revision = revision
        ids: list[str] = []
        documents: list[str] = []
        metadatas: list[Mapping[str, Any]] = []
        vectors: list[np.ndarray] = []
        offset = 0
        while True:
            page = collection.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
            ids += page["ids"]
            documents += page["documents"] or []
            metadatas += page["metadatas"] or []
            if len(page["ids"]):
                vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
            if len(page["ids"]) < _PAGE:
                break
            offset += _PAGE
        self.passages = [
            Passage.from_metadata(chunk_id, document, metadata)
            for chunk_id, document, metadata in zip(ids, documents, metadatas, strict=True)
        ]
        self.row_of = {chunk_id: row for row, chunk_id in enumerate(ids)}
        self.embeddings = np.concatenate(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
        self.lexical = LexicalIndex(documents)
        self.heading_texts = [heading_text(p) for p in self.passages]
        self.headings = LexicalIndex(
            [" ".join((p.title, p.heading_path, p.faq_question)) for p in self.passages]
        )
        self.vocabulary = self.lexical.vocabulary | self.headings.vocabulary
        self.ordered_vocabulary = tuple(sorted(self.vocabulary))  # for typo matching (knowledge.abstention)
        self._heading_vectors: np.ndarray | None = None
        self._heading_lock = threading.Lock()

    def heading_vectors(self, model_dir: str) -> np.ndarray:
        """Embeddings of every passage's heading text, computed once per snapshot (unique texts only)."""
        with self._heading_lock:
            if self._heading_vectors is None:
                unique = sorted(set(self.heading_texts))
                if unique:
                    encoded = dict(zip(unique, encode(model_dir, unique), strict=True))
                    self._heading_vectors = np.stack([encoded[text] for text in self.heading_texts])
                else:
                    self._heading_vectors = np.zeros((0, 1), dtype=np.float32)
            return self._heading_vectors


def heading_text(passage: Passage) -> str:
    """What a passage is about: an FAQ pair's own question, else its title and heading path."""
    if passage.faq_question:
        return passage.faq_question
    return " > ".join(part for part in (passage.title, passage.heading_path) if part)


class Retriever:
    """Searches one knowledge base; thread-safe; picks up re-ingested content on the next query."""

    def __init__(self, settings: KnowledgeSettings, weights: Weights = DEFAULT_WEIGHTS) -> None:
        self.settings = settings
        self.weights = weights
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None
        self._snapshot: _Snapshot | None = None
        self._threads_limited = False

    # --- public ---------------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The k best passages for `query`, best first. Raises KnowledgeBaseUnavailable when there is no base."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r} (choose from {', '.join(MODES)})")
        snapshot, collection = self._current()
        query = " ".join(query.split())
        if not query or not snapshot.passages:
            return []
        # Plain BM25 is a baseline that must not pay for an embedding; its hits carry no relevance (NaN).
        vector = self.embed(query) if mode != "bm25" else None
        depth = min(max(CANDIDATES, k), len(snapshot.passages))
        dense: list[tuple[int, float]] = []
        if vector is not None:
            try:
                dense = self._dense(snapshot, collection, vector, depth)
            except Exception:  # rewritten by another process mid-query: reopen and ask again, once
                with self._lock:
                    self._reset()
                snapshot, collection = self._current()
                depth = min(max(CANDIDATES, k), len(snapshot.passages))
                try:
                    dense = self._dense(snapshot, collection, vector, depth)
                except Exception as error:
                    raise store.KnowledgeBaseUnavailable(f"cannot search the knowledge base: {error}") from error
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = snapshot.lexical.top(query, depth)
        elif mode == "blend":
            ranked = self._blend(snapshot, query, vector, dense, depth)
        else:
            ranked = self._hybrid(snapshot, query, vector, dense, depth)
        hits = []
        for row, score in ranked[:k]:
            relevance = float(snapshot.embeddings[row] @ vector) if vector is not None else float("nan")
            hits.append(Hit(snapshot.passages[row], score, relevance))
        return hits

    def embed(self, text: str) -> np.ndarray:
        if not self._threads_limited:
            limit_threads(self.settings.query_threads)
            self._threads_limited = True
        return encode(self.settings.model_dir, [text])[0]

    def size(self) -> int:
        return len(self.snapshot().passages)

    def snapshot(self) -> _Snapshot:
        return self._current()[0]

    def _current(self) -> tuple[_Snapshot, Any]:
        """The snapshot and collection handle, reloaded when the revision changed since the last call.

        An embedded Chroma is not shared between processes: after `knowledge.ingest` wrote from another process,
        this process's in-memory index is stale. So a changed revision (or a failed read) reopens the client
        before reading, once.
        """
        with self._lock:
            for attempt in (1, 2):
                try:
                    collection = self._open()
                    revision = store.revision_of(collection)
                    if self._snapshot is None or self._snapshot.revision != revision:
                        if self._snapshot is not None and attempt == 1:
                            self._reset()
                            continue
                        self._snapshot = _Snapshot(collection, revision)
                    return self._snapshot, collection
                except store.KnowledgeBaseUnavailable:
                    self._reset()
                    raise
                except Exception as error:  # the server went away, another process rewrote the index...
                    self._reset()
                    if attempt == 2:
                        raise store.KnowledgeBaseUnavailable(
                            f"cannot read the knowledge base in {self.settings.describe_location()}: {error}"
                        ) from error
            raise AssertionError("unreachable")

    def _reset(self) -> None:
        """Forget the client so the next read opens a fresh one (and a fresh view of the index)."""
        client, self._client, self._collection = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _open(self) -> Any:
        """The collection handle, fetched fresh so its metadata (the revision) is current."""
        if self._client is None or self._collection is None:
            self._client = store.open_client_if_present(self.settings)
        try:
            self._collection = store.get_collection(self._client, self.settings)
        except store.KnowledgeBaseUnavailable:
            self._collection = None
            raise
        except Exception as error:
            self._collection = None
            raise store.KnowledgeBaseUnavailable(
                f"cannot reach the knowledge base in {self.settings.describe_location()}: {error}"
            ) from error
        metadata = self._collection.metadata or {}
        expected = (model_label(self.settings.model_dir), embedding_dimension(self.settings.model_dir))
        if metadata.get(store.MODEL_KEY) is not None and (
            metadata.get(store.MODEL_KEY), metadata.get(store.DIMENSION_KEY)
        ) != expected:
            raise store.KnowledgeBaseUnavailable(
                f"the knowledge base was built with model {metadata.get(store.MODEL_KEY)}, but this process uses "
                f"{expected[0]}; re-ingest with --rebuild"
            )
        return self._collection

    def _hybrid(
        self, snapshot: _Snapshot, query: str, vector: np.ndarray, dense: list[tuple[int, float]], depth: int
    ) -> list[tuple[int, float]]:
        """Candidates from the dense and both BM25 rankings, scored by the weighted sum of all four signals."""
        weights = self.weights
        body = _normalized(snapshot.lexical.scores(query))
        heading = _normalized(snapshot.headings.scores(query))
        rows = _candidates(dense, (body, heading), depth)
        score = weights.passage * (snapshot.embeddings[rows] @ vector) + weights.body_bm25 * body[rows]
        score += weights.heading_bm25 * heading[rows]
        if weights.heading:
            score += weights.heading * (snapshot.heading_vectors(self.settings.model_dir)[rows] @ vector)
        order = np.lexsort((rows, -score))
        return [(int(rows[index]), float(score[index])) for index in order]

    @staticmethod
    def _blend(
        snapshot: _Snapshot, query: str, vector: np.ndarray, dense: list[tuple[int, float]], depth: int
    ) -> list[tuple[int, float]]:
        """Candidates from all three rankings, scored by cosine plus bounded lexical lifts, best first."""
        body = _normalized(snapshot.lexical.scores(query))
        heading = _normalized(snapshot.headings.scores(query))
        rows = _candidates(dense, (body, heading), depth)
        blended = snapshot.embeddings[rows] @ vector + BODY_WEIGHT * body[rows] + HEADING_WEIGHT * heading[rows]
        order = np.lexsort((rows, -blended))
        return [(int(rows[index]), float(blended[index])) for index in order]

    @staticmethod
    def _dense(snapshot: _Snapshot, collection: Any, vector: np.ndarray, depth: int) -> list[tuple[int, float]]:
        """Chroma's nearest neighbours as (row, cosine similarity), best first."""
        result = collection.query(query_embeddings=[vector], n_results=depth, include=["distances"])
        ranked = []
        for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            row = snapshot.row_of.get(chunk_id)
            if row is not None:  # written after our snapshot: seen on the next query
                ranked.append((row, 1.0 - float(distance)))
        return ranked


def _candidates(dense: list[tuple[int, float]], lexical: tuple[np.ndarray, ...], depth: int) -> np.ndarray:
    """Rows in the dense top list or in any lexical top list (with a score above zero)."""
    candidates = {row for row, _ in dense}
    for scores in lexical:
        if scores.any():
            candidates.update(int(row) for row in np.argsort(-scores)[:depth] if scores[row] > 0)
    return np.fromiter(sorted(candidates), dtype=np.int64)


def _normalized(scores: np.ndarray) -> np.ndarray:
    """BM25 scores divided by the query's best one (0..1), so the blend weights mean the same for every query."""
    best = float(scores.max()) if scores.size else 0.0
    return scores / best if best > 0 else scores


def get_retriever(settings: KnowledgeSettings | None = None) -> Retriever:
    """The process-wide retriever for these settings (default: read from the environment on each call, so a
    changed SHOPDESK_KNOWLEDGE_DIR or SHOPDESK_CHROMA_URL is honoured; the model itself is loaded once)."""
    return _retriever_for(settings or KnowledgeSettings.from_env())


@lru_cache(maxsize=8)
def _retriever_for(settings: KnowledgeSettings) -> Retriever:
    return Retriever(settings)
