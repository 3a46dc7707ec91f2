"""Nearest neighbours among messages by character n-gram TF-IDF cosine, for bulk annotation.

Pure Python and fast for the few thousand messages a review page looks at; character n-grams catch
typos and inflections ("cancel", "canceled", "cancellation") that token overlap would miss.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_SPACE = re.compile(r"\s+")


def ngrams(text: str, low: int = 3, high: int = 4) -> Counter[str]:
    text = f" {_SPACE.sub(' ', text.casefold()).strip()} "
    return Counter(text[i:i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1))


def _vectors(texts: Sequence[str]) -> list[dict[str, float]]:
    counts = [ngrams(t) for t in texts]
    df: Counter[str] = Counter(g for c in counts for g in c)
    n = len(texts)
    vectors = []
    for c in counts:
        v = {g: (1 + math.log(tf)) * (math.log((1 + n) / (1 + df[g])) + 1) for g, tf in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors.append({g: x / norm for g, x in v.items()})
    return vectors


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(g, 0.0) for g, x in a.items())


def nearest(query: str, texts: Sequence[str], threshold: float = 0.35, limit: int = 50) -> list[tuple[int, float]]:
    """(index, similarity) of the texts most like `query`, best first, above `threshold`."""
    if not texts:
        return []
    vectors = _vectors([query, *texts])
    scored = [(i, _cosine(vectors[0], v)) for i, v in enumerate(vectors[1:])]
    return sorted(((i, round(s, 3)) for i, s in scored if s >= threshold), key=lambda p: -p[1])[:limit]
