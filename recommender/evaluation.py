"""Time-based offline evaluation, shared by the benchmark and the training CLI's holdout metrics.

Train on purchases before a cutoff; the targets of a customer are the products they bought in the
following period that they had not bought before (recommending what someone already has is not what
we measure). Customers with history before the cutoff are "returning"; the others are "cold start".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from recommender.data import History

K = 10


@dataclass
class Split:
    train: History
    cutoff: datetime
    returning: list[int]                 # customer ids, each with history and at least one new target
    cold: list[int]
    targets: dict[int, set[int]]         # customer -> product indices bought after the cutoff, new to them
    seen: dict[int, list[tuple[int, datetime]]]  # customer -> (product index, when) before the cutoff


def time_split(history: History, cutoff: datetime, end: datetime | None = None) -> Split:
    index = {item.sku: i for i, item in enumerate(history.catalogue)}
    seen: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    later: dict[int, set[int]] = defaultdict(set)
    for p in history.purchases:
        item = index.get(p.sku)
        if item is None:
            continue
        if p.placed_at < cutoff:
            seen[p.customer_id].append((item, p.placed_at))
        elif end is None or p.placed_at < end:
            later[p.customer_id].add(item)
    targets: dict[int, set[int]] = {}
    returning, cold = [], []
    for customer, bought in sorted(later.items()):
        new = bought - {i for i, _ in seen.get(customer, [])}
        if not new:
            continue
        targets[customer] = new
        (returning if customer in seen else cold).append(customer)
    return Split(history.before(cutoff), cutoff, returning, cold, targets, dict(seen))


def top_k(scores: np.ndarray, exclude: list[np.ndarray] | None = None, k: int = K) -> np.ndarray:
    """Row-wise indices of the k best scores, best first, never an excluded (already bought) product."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if scores.ndim == 1:
        scores = scores[None, :]
    if exclude is not None:
        for row, items in enumerate(exclude):
            scores[row, items] = -np.inf
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_ndcg(ranked: np.ndarray, targets: list[set[int]], k: int = K) -> tuple[float, float]:
    """Mean Recall@k (hits / relevant) and NDCG@k with binary relevance."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs = [], []
    for row, wanted in zip(ranked, targets, strict=True):
        hits = np.fromiter((item in wanted for item in row[:k]), dtype=bool, count=min(k, len(row)))
        recalls.append(hits.sum() / len(wanted))
        ideal = discounts[: min(len(wanted), k)].sum()
        ndcgs.append(float((discounts[: len(hits)] * hits).sum() / ideal))
    return float(np.mean(recalls)) if recalls else 0.0, float(np.mean(ndcgs)) if ndcgs else 0.0


def coverage(ranked: np.ndarray, catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    return len(np.unique(ranked)) / catalogue_size if catalogue_size else 0.0


def history_matrix(split: Split, customers: list[int], n_items: int, half_life_days: float | None
                   ) -> sp.csr_matrix:
    """Rows of recency-weighted purchase weights (1.0 for the latest; halves every half_life_days)."""
    rows, cols, vals = [], [], []
    for row, customer in enumerate(customers):
        events = split.seen.get(customer, [])
        if not events:
            continue
        latest = max(t for _, t in events)
        best: dict[int, float] = {}
        for item, moment in events:
            age = (latest - moment).total_seconds() / 86400.0
            weight = 0.5 ** (age / half_life_days) if half_life_days else 1.0
            best[item] = max(best.get(item, 0.0), weight)
        for item, weight in best.items():
            rows.append(row)
            cols.append(item)
            vals.append(weight)
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(customers), n_items))


def seen_items(split: Split, customers: list[int]) -> list[np.ndarray]:
    return [np.asarray(sorted({i for i, _ in split.seen.get(c, [])}), dtype=np.int64) for c in customers]
