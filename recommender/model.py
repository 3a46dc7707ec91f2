"""The hybrid recommender: collaborative scores + name-embedding similarity + what is selling now.

Every request type reduces to a score per product; the service layer (recommender.service) applies live
filters (price, stock, already bought) and writes the reasons. The defaults below are the values that
bench/recommender_benchmark.py chose on its validation windows, never on its test period (see
docs/BENCHMARKS.md, "Recommendations"); the text-request knobs have no ground truth in the data and were
set by inspecting results.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import ParamSpec, TypeVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController
from tqdm import tqdm

from recommender import text
from recommender.collaborative import LEARNERS, Als, Collaborative, Ease
from recommender.data import History

DAY_S = 86400.0
_P = ParamSpec("_P")
_R = TypeVar("_R")
_THREADPOOLS = ThreadpoolController()


def one_blas_thread(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a request's small matrix products on one BLAS thread.

    Measured on this 2-core machine under load: a 300-purchase customer's scores take p50 60 ms with
    OpenBLAS's two threads handing off, 0.5 ms with one. Training (large products) keeps all threads.
    """

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Params:
    collaborative: str = "ease"       # "ease" or "als", picked on the validation period
    ease_l2: float = 200.0
    als_factors: int = 64
    als_regularization: float = 0.1
    als_alpha: float = 10.0
    als_iterations: int = 15
    content_weight: float = 2.0       # name-embedding similarity to the customer's purchases
    popularity_weight: float = 1.0    # what is selling now
    history_half_life_days: float = 180.0  # older purchases say less about today's taste
    trend_half_life_days: float = 14.0     # recency of the popularity prior in personal scores
    popular_half_life_days: float = 1e6    # recency of the "popular" list (cold start); 1e6 = all time
    country_weight: float = 0.75      # cold start: share of the customer's country in popularity
    similar_content_weight: float = 3.0    # "more like this": looks alike vs bought alike (judged by eye)
    text_word_weight: float = 0.5     # exact words vs meaning in free-text requests
    text_min_score: float = 0.35      # below this a product does not "match" the request
    personal_text_weight: float = 0.3  # how much a known customer's taste reorders text matches

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Params:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]


@dataclass
class HybridModel:
    skus: list[str]
    names: list[str]
    prices: np.ndarray            # at training time; the service re-checks live prices
    embeddings: np.ndarray        # unit-length name embeddings, one row per product
    collaborative: Collaborative
    buyers: np.ndarray            # distinct customers per product (all time)
    trending: np.ndarray          # recency-weighted buyers, scaled to 0..1 (prior in personal scores)
    popular: np.ndarray           # the same with the cold-start half-life
    country_popular: dict[str, np.ndarray]
    basket: sp.csr_matrix         # same-order co-occurrence counts
    params: Params
    index: dict[str, int] = field(init=False)
    name_words: list[set[str]] = field(init=False)
    word_index: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {sku: i for i, sku in enumerate(self.skus)}
        self.name_words = [set(text.words(name)) for name in self.names]
        postings: dict[str, list[int]] = defaultdict(list)
        for i, name_words in enumerate(self.name_words):
            for word in name_words:
                postings[word].append(i)
        self.word_index = {w: np.asarray(ix, dtype=np.int64) for w, ix in postings.items()}

    @property
    def size(self) -> int:
        return len(self.skus)

    # ---- scores -------------------------------------------------------------------------------------
    def history_weights(self, items: list[int], when: list[datetime]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct purchased products with a weight that halves every `history_half_life_days`."""
        if not items:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        latest = max(when)
        best: dict[int, float] = {}
        for item, moment in zip(items, when, strict=True):
            age_days = (latest - moment).total_seconds() / DAY_S
            weight = 0.5 ** (age_days / self.params.history_half_life_days)
            best[item] = max(best.get(item, 0.0), weight)
        order = sorted(best)
        return np.asarray(order, dtype=np.int64), np.asarray([best[i] for i in order], dtype=np.float32)

    @one_blas_thread
    def personal_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Blend of collaborative score, similarity to the purchases' names, and current popularity."""
        p = self.params
        collaborative = _unit_max(self.collaborative.user_scores(items, weights))
        profile = weights @ self.embeddings[items]
        norm = float(np.linalg.norm(profile))
        content = self.embeddings @ (profile / norm) if norm > 0 else np.zeros(self.size, dtype=np.float32)
        return collaborative + p.content_weight * content + p.popularity_weight * self.trending

    def batch_components(self, histories: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """(collaborative, content) score matrices for many customers (rows of history weights)."""
        collaborative = self.collaborative.batch_user_scores(histories)
        top = np.abs(collaborative).max(axis=1, keepdims=True)
        collaborative = np.divide(collaborative, top, out=np.zeros_like(collaborative), where=top > 0)
        profiles = np.asarray(histories @ self.embeddings, dtype=np.float32)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        profiles = np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)
        return collaborative, profiles @ self.embeddings.T

    def batch_personal_scores(self, histories: sp.csr_matrix) -> np.ndarray:
        collaborative, content = self.batch_components(histories)
        p = self.params
        return collaborative + p.content_weight * content + p.popularity_weight * self.trending[None, :]

    @one_blas_thread
    def because(self, items: np.ndarray, weights: np.ndarray, target: int) -> int:
        """The purchase (a product index from `items`) that most explains recommending `target`."""
        pull = _unit_max(self.collaborative.pull(items, target)) * weights
        pull = pull + self.params.content_weight * (self.embeddings[items] @ self.embeddings[target]) * weights
        return int(items[int(np.argmax(pull))])

    @one_blas_thread
    def popularity(self, country: str | None = None) -> np.ndarray:
        """What sells now, leaning towards the customer's country when it is known (cold start)."""
        local = self.country_popular.get(country or "")
        if local is None:
            return self.popular
        w = self.params.country_weight
        return (1 - w) * self.popular + w * local

    @one_blas_thread
    def similar_scores(self, item: int) -> np.ndarray:
        """Products like `item`: looks alike (name meaning) plus bought alike (collaborative)."""
        collaborative = _unit_max(self.collaborative.item_scores(item))
        content = self.embeddings @ self.embeddings[item]
        scores = collaborative + self.params.similar_content_weight * content + 0.05 * self.trending
        scores[item] = -np.inf
        return scores

    @one_blas_thread
    def together_scores(self, items: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Frequently bought together with a basket: same-order co-occurrence (lift-normalised).

        Returns (scores, evidence) where evidence[j] is the basket product that pulls j most.
        """
        basket_items = np.asarray(sorted(set(items)), dtype=np.int64)
        rows = self.basket[basket_items].toarray().astype(np.float32)  # |basket| x n
        scale = np.sqrt(np.maximum(self.buyers, 1.0))
        rows = rows / scale[basket_items][:, None] / scale[None, :]
        scores = rows.sum(axis=0)
        evidence = basket_items[np.argmax(rows, axis=0)]
        scores[basket_items] = 0.0
        return scores, evidence

    @one_blas_thread
    def text_scores(self, query_vector: np.ndarray, query_words: list[str]) -> np.ndarray:
        """How well each product name matches a request: meaning plus the share of its words present."""
        scores = self.embeddings @ query_vector
        wanted = set(query_words)
        if wanted:
            hits = np.zeros(self.size, dtype=np.float32)
            for word in wanted:
                posting = self.word_index.get(word)
                if posting is not None:
                    hits[posting] += 1.0
            scores = scores + self.params.text_word_weight * hits / len(wanted)
        return scores

    def with_products(self, skus: list[str], names: list[str], prices: np.ndarray, embeddings: np.ndarray
                      ) -> HybridModel:
        """This model plus products added to the shop since training: reachable through their names
        (text and 'similar' requests) at once, with no purchase signal until the next training."""
        extra = len(skus)
        if extra == 0:
            return self
        n = self.size
        zeros = np.zeros(extra, dtype=np.float32)
        indptr = np.concatenate([self.basket.indptr, np.full(extra, self.basket.indptr[-1])])
        basket = sp.csr_matrix((self.basket.data, self.basket.indices, indptr), shape=(n + extra, n + extra))
        return HybridModel(
            self.skus + list(skus), self.names + list(names),
            np.concatenate([self.prices, np.asarray(prices, dtype=np.float32)]),
            np.vstack([self.embeddings, embeddings.astype(np.float32)]), self.collaborative.padded(extra),
            np.concatenate([self.buyers, zeros]), np.concatenate([self.trending, zeros]),
            np.concatenate([self.popular, zeros]),
            {c: np.concatenate([v, zeros]) for c, v in self.country_popular.items()}, basket, self.params)

    # ---- persistence ----------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        countries = sorted(self.country_popular)
        basket = self.basket.tocsr()
        return {
            "prices": self.prices, "embeddings": self.embeddings, "buyers": self.buyers,
            "trending": self.trending, "popular": self.popular,
            "country_popular": (np.stack([self.country_popular[c] for c in countries])
                                if countries else np.zeros((0, self.size), dtype=np.float32)),
            "basket_data": basket.data, "basket_indices": basket.indices, "basket_indptr": basket.indptr,
            **self.collaborative.arrays(),
        }

    @classmethod
    def from_arrays(cls, skus: list[str], names: list[str], countries: list[str], params: Params,
                    arrays: dict[str, np.ndarray]) -> HybridModel:
        n = len(skus)
        basket = sp.csr_matrix((arrays["basket_data"], arrays["basket_indices"], arrays["basket_indptr"]),
                               shape=(n, n))
        learner = LEARNERS[params.collaborative].from_arrays(arrays)
        country_rows = arrays["country_popular"]
        return cls(skus, names, arrays["prices"], arrays["embeddings"], learner, arrays["buyers"],
                   arrays["trending"], arrays["popular"], {c: country_rows[i] for i, c in enumerate(countries)},
                   basket, params)


def _unit_max(scores: np.ndarray) -> np.ndarray:
    """Scale so the best score is 1: blends then mean the same across customers and learners."""
    top = float(np.max(np.abs(scores))) if scores.size else 0.0
    return (scores / top).astype(np.float32) if top > 0 else scores.astype(np.float32)


def embed_names(names: list[str], progress: bool = True, batch_size: int = 128) -> np.ndarray:
    """Name embeddings in batches, with a progress bar (the slow part of training)."""
    chunks = []
    for start in tqdm(range(0, len(names), batch_size), desc="embedding product names", unit="batch",
                      disable=not progress):
        chunks.append(text.encode(names[start:start + batch_size], batch_size=batch_size))
    dim = chunks[0].shape[1] if chunks else 384
    return np.concatenate(chunks) if chunks else np.zeros((0, dim), dtype=np.float32)


def interaction_matrix(history: History, index: dict[str, int]) -> tuple[sp.csr_matrix, list[int]]:
    """Binary customer x product matrix; returns it and the customer id of each row."""
    pairs = {(p.customer_id, index[p.sku]) for p in history.purchases if p.sku in index}
    customers = sorted({c for c, _ in pairs})
    row_of = {c: r for r, c in enumerate(customers)}
    rows = [row_of[c] for c, _ in pairs]
    cols = [i for _, i in pairs]
    matrix = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (rows, cols)),
                           shape=(len(customers), len(index)))
    return matrix, customers


def fit(history: History, params: Params | None = None, embeddings: np.ndarray | None = None,
        progress: bool = True) -> HybridModel:
    """Train every part of the model from a purchase history (embeddings may be passed in to reuse them)."""
    params = params or Params()
    skus = [item.sku for item in history.catalogue]
    names = [item.name for item in history.catalogue]
    index = {sku: i for i, sku in enumerate(skus)}
    n = len(skus)
    if embeddings is None:
        embeddings = embed_names(names, progress=progress)

    matrix, _customers = interaction_matrix(history, index)
    if params.collaborative == "als":
        learner: Collaborative = Als.fit(matrix, params.als_factors, params.als_regularization, params.als_alpha,
                                         params.als_iterations)
    else:
        learner = Ease.fit(matrix, params.ease_l2)

    buyers = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
    trending, _ = _trends(history, index, params.trend_half_life_days)
    popular, country_popular = _trends(history, index, params.popular_half_life_days)

    orders: dict[str, set[int]] = defaultdict(set)
    for p in history.purchases:
        if p.sku in index:
            orders[p.order_key].add(index[p.sku])
    rows, cols = [], []
    for r, items in enumerate(orders.values()):
        rows.extend([r] * len(items))
        cols.extend(items)
    baskets = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(orders), n))
    basket = (baskets.T @ baskets).tocsr()
    basket.setdiag(0)
    basket.eliminate_zeros()

    prices = np.asarray([item.price for item in history.catalogue], dtype=np.float32)
    return HybridModel(skus, names, prices, embeddings.astype(np.float32), learner, buyers, trending, popular,
                       country_popular, basket, params)


def _trends(history: History, index: dict[str, int], half_life_days: float
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Recency-weighted distinct buyers per product, overall and per country, each scaled to 0..1."""
    n = len(index)
    overall = np.zeros(n, dtype=np.float64)
    by_country: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n, dtype=np.float64))
    if not history.purchases:
        return overall.astype(np.float32), {}
    latest = max(p.placed_at for p in history.purchases)
    seen: dict[tuple[int, int], float] = {}
    for p in history.purchases:
        item = index.get(p.sku)
        if item is None:
            continue
        weight = 0.5 ** ((latest - p.placed_at).total_seconds() / DAY_S / half_life_days)
        key = (p.customer_id, item)
        seen[key] = max(seen.get(key, 0.0), weight)
    for (customer, item), weight in seen.items():
        overall[item] += weight
        country = history.countries.get(customer)
        if country:
            by_country[country][item] += weight

    def scaled(values: np.ndarray) -> np.ndarray:
        logged = np.log1p(values)
        top = logged.max()
        return (logged / top if top > 0 else logged).astype(np.float32)

    return scaled(overall), {c: scaled(v) for c, v in by_country.items()}
