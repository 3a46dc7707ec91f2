"""BM25 over the stored chunks (bm25s): the exact-word signal that dense embeddings blur (INV-, carriers, Norway)."""

from __future__ import annotations

import re
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_TOKEN = re.compile(r"[a-z0-9£€$]+")
_STEMMER = Stemmer.Stemmer("english")
_STOPWORDS = frozenset(STOPWORDS_EN)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, Snowball-stemmed: 'Refunds for cancelled orders' -> [refund, cancel, order]."""
    return [_stem(word) for word in _TOKEN.findall(text.lower()) if word not in _STOPWORDS]


class LexicalIndex:
    """BM25 scores of a query against a fixed list of texts (rebuilt when the knowledge base changes)."""

    def __init__(self, texts: list[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index([tokenize(text) for text in texts], show_progress=False)
        self._vocabulary = frozenset(self._bm25.vocab_dict) if texts else frozenset()

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every stemmed term in the indexed texts (what the knowledge base has words for)."""
        return self._vocabulary

    def scores(self, query: str) -> np.ndarray:
        tokens = [token for token in tokenize(query) if token in self._bm25.vocab_dict] if self.size else []
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """(row, score) of the k best-scoring texts with a score above zero, best first."""
        scores = self.scores(query)
        k = min(k, int(np.count_nonzero(scores)))
        if k <= 0:
            return []
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [(int(row), float(scores[row])) for row in rows]
