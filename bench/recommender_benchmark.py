"""Recommender benchmark: our hybrid vs a popularity and an item-kNN baseline, time-based split, one run.

Data: ../shared/data/online_retail (parsed exactly as the store seeds it). Months before --val-cut train
the models we tune; --val-cut..--test-cut is the validation period every knob (blend weights, learner,
baseline neighbourhood size) is chosen on; then everything is refitted on all months before --test-cut and
scored once on each customer's later, new-to-them purchases. Cold-start customers (no purchase before the
cut) are reported separately. Latency is one request through the same code path the action server uses.

    nice -n 10 .venv/app/bin/python bench/recommender_benchmark.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from recommender import model as hybrid
from recommender import text
from recommender.data import History, history_from_invoices
from recommender.evaluation import (
    K,
    Split,
    coverage,
    history_matrix,
    recall_ndcg,
    seen_items,
    time_split,
    top_k,
)
from store.seed import DEFAULT_DATA, read_invoices

LEARNERS = [{"collaborative": "ease", "ease_l2": l2} for l2 in (100.0, 200.0, 500.0)] + [
    {"collaborative": "als", "als_factors": f, "als_alpha": a, "als_regularization": 0.1}
    for f, a in ((64, 5.0), (128, 20.0))
]
HALF_LIVES = (60.0, 180.0, 1e6)
CONTENT_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0)
POPULARITY_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.5)
TREND_HALF_LIVES = (7.0, 14.0, 30.0, 1e6)
POPULAR_HALF_LIVES = (14.0, 30.0, 90.0, 180.0, 1e6)  # 1e6 days = all-time popularity
COUNTRY_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
KNN_SIZES = (20, 50, 100, 0)  # 0 = every neighbour
TEXT_QUERIES = [
    "red lantern",
    "gift for christmas",
    "something for a birthday party",
    "vintage tea cups",
    "heart shaped decoration",
    "kids toy",
    "garden",
    "lunch bag",
    "candles",
    "cake stand",
    "wall clock",
    "present for my mum",
    "paper napkins",
    "retro spot bag",
    "jam jar",
]


# ---- baselines ---------------------------------------------------------------------------------------
def popularity_scores(train: History, index: dict[str, int]) -> np.ndarray:
    """Distinct buyers per product over the whole training period."""
    matrix, _ = hybrid.interaction_matrix(train, index)
    return np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)


def tie_break(train: History, index: dict[str, int]) -> np.ndarray:
    """A tiny popularity term so that products with no neighbour evidence are ranked by popularity, not by sku."""
    pop = popularity_scores(train, index)
    return (1e-6 * pop / max(pop.max(), 1.0)).astype(np.float32)


def item_knn(train: History, index: dict[str, int], neighbours: int) -> np.ndarray:
    """Cosine item-item similarity on the binary customer x product matrix, pruned to the top neighbours."""
    matrix, _ = hybrid.interaction_matrix(train, index)
    norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    unit = matrix @ sp.diags(1.0 / norms)
    sim = np.asarray((unit.T @ unit).toarray(), dtype=np.float32)
    np.fill_diagonal(sim, 0.0)
    if neighbours:
        cut = np.argpartition(-sim, neighbours, axis=0)[neighbours:]
        np.put_along_axis(sim, cut, 0.0, axis=0)
    return sim


# ---- evaluation helpers ------------------------------------------------------------------------------
def evaluate(scores: np.ndarray, split: Split, customers: list[int]) -> tuple[float, float, float, np.ndarray]:
    ranked = top_k(scores if scores.ndim == 2 else np.tile(scores, (len(customers), 1)), seen_items(split, customers))
    recall, ndcg = recall_ndcg(ranked, [split.targets[c] for c in customers])
    return recall, ndcg, coverage(ranked, scores.shape[-1]), ranked


def cold_popularity(
    model: hybrid.HybridModel, split: Split, customers: list[int], countries: dict[int, str]
) -> np.ndarray:
    return np.stack([model.popularity(countries.get(c)) for c in customers]) if customers else np.zeros((0, 1))


def percentile_ms(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


# ---- tuning on the validation period -------------------------------------------------------------------
def tune(history: History, embeddings: np.ndarray, val: Split, cold_window_start: datetime
         ) -> tuple[hybrid.Params, int, dict[str, float]]:
    index = {item.sku: i for i, item in enumerate(history.catalogue)}
    n = len(index)
    customers = val.returning
    targets = [val.targets[c] for c in customers]
    excluded = seen_items(val, customers)
    best: tuple[float, hybrid.Params] = (-1.0, hybrid.Params())
    print(f"tuning on validation: {len(customers)} returning customers, {len(val.cold)} cold-start")
    for learner in LEARNERS:
        started = time.perf_counter()
        base = replace(hybrid.Params(), **learner)
        model = hybrid.fit(val.train, base, embeddings=embeddings, progress=False)
        learner_best = -1.0
        for half_life in HALF_LIVES:
            histories = history_matrix(val, customers, n, half_life)
            collaborative, content = model.batch_components(histories)
            for trend_half_life in TREND_HALF_LIVES:
                trending, _ = hybrid._trends(val.train, index, trend_half_life)
                for cw, pw in itertools.product(CONTENT_WEIGHTS, POPULARITY_WEIGHTS):
                    scores = collaborative + cw * content + pw * trending[None, :]
                    _recall, ndcg = recall_ndcg(top_k(scores, excluded), targets)
                    learner_best = max(learner_best, ndcg)
                    if ndcg > best[0]:
                        best = (
                            ndcg,
                            replace(
                                base,
                                content_weight=cw,
                                popularity_weight=pw,
                                history_half_life_days=half_life,
                                trend_half_life_days=trend_half_life,
                            ),
                        )
        print(f"  {learner}: best validation NDCG@10 {learner_best:.4f} ({time.perf_counter() - started:.0f}s)")
    params = best[1]

    # Cold start: how recent the "popular" list is and how much the customer's country leans it, on the
    # mean of two validation windows (one window alone over-fits a season: Aug-Sep prefers last month's
    # sellers, Jun-Jul all-time ones).
    windows = [time_split(history.before(val.cutoff), cold_window_start), val]
    totals: dict[tuple[float, float], float] = {}
    for window in windows:
        for half_life in POPULAR_HALF_LIVES:
            popular, by_country = hybrid._trends(window.train, index, half_life)
            for weight in COUNTRY_WEIGHTS:
                scores = np.stack([(1 - weight) * popular + weight * by_country[history.countries[c]]
                                   if history.countries.get(c) in by_country else popular for c in window.cold])
                _r, ndcg, _c, _ = evaluate(scores, window, window.cold)
                totals[(half_life, weight)] = totals.get((half_life, weight), 0.0) + ndcg / len(windows)
    (half_life, weight), cold_ndcg = max(totals.items(), key=lambda kv: kv[1])
    params = replace(params, popular_half_life_days=half_life, country_weight=weight)
    print(f"  cold start: popular half-life {half_life:g} days, country weight {weight}: "
          f"mean validation NDCG@10 {cold_ndcg:.4f}")

    knn_best = (-1.0, 0)
    for size in KNN_SIZES:
        sim = item_knn(val.train, index, size)
        binary = history_matrix(val, customers, n, None)
        _r, ndcg, _c, _ = evaluate(np.asarray(binary @ sim) + tie_break(val.train, index), val, customers)
        if ndcg > knn_best[0]:
            knn_best = (ndcg, size)
    pop = popularity_scores(val.train, index)
    _r, pop_ndcg, _c, _ = evaluate(pop, val, customers)
    summary = {"ours": best[0], "item-kNN": knn_best[0], "popularity": pop_ndcg}
    return params, knn_best[1], summary


# ---- the test run ---------------------------------------------------------------------------------------
def latency_ours(model: hybrid.HybridModel, split: Split, customers: list[int]) -> list[float]:
    samples = []
    for customer in customers:
        events = split.seen[customer]
        started = time.perf_counter()
        items, weights = model.history_weights([i for i, _ in events], [t for _, t in events])
        scores = model.personal_scores(items, weights)
        ranked = top_k(scores, [items])[0]
        model.because(items, weights, int(ranked[0]))
        samples.append(time.perf_counter() - started)
    return samples


def latency_baseline(scores_for, split: Split, customers: list[int]) -> list[float]:
    samples = []
    for customer in customers:
        started = time.perf_counter()
        items = np.asarray(sorted({i for i, _ in split.seen[customer]}), dtype=np.int64)
        top_k(scores_for(items), [items])
        samples.append(time.perf_counter() - started)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--val-cut", type=datetime.fromisoformat, default=datetime(2011, 8, 1))
    parser.add_argument("--test-cut", type=datetime.fromisoformat, default=datetime(2011, 10, 1))
    parser.add_argument("--cold-window", type=datetime.fromisoformat, default=datetime(2011, 6, 1),
                        help="start of the second, earlier validation window used for cold-start tuning")
    parser.add_argument("--latency-requests", type=int, default=500)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    threadpool_limits(1, "blas")  # small products, shared 2-core machine: one thread is fastest (see model.py)
    invoices, catalogue = read_invoices(args.data)
    history = history_from_invoices(invoices.values(), catalogue)
    index = {item.sku: i for i, item in enumerate(history.catalogue)}
    n = len(index)
    print(
        f"data: {args.data} — {len(history.purchases)} purchase lines, {n} products, "
        f"{len({p.customer_id for p in history.purchases})} customers"
    )
    t0 = time.perf_counter()
    embeddings = hybrid.embed_names([item.name for item in history.catalogue], progress=False)
    print(f"name embeddings: {time.perf_counter() - t0:.1f}s")

    val = time_split(history.before(args.test_cut), args.val_cut)
    params, knn_size, val_summary = tune(history, embeddings, val, args.cold_window)
    print("validation NDCG@10 (returning): " + ", ".join(f"{k} {v:.4f}" for k, v in val_summary.items()))
    print(f"chosen params: {params.to_dict()}; item-kNN neighbours: {knn_size or 'all'}")

    test = time_split(history, args.test_cut)
    t0 = time.perf_counter()
    model = hybrid.fit(test.train, params, embeddings=embeddings, progress=False)
    fit_s = time.perf_counter() - t0
    pop = popularity_scores(test.train, index)
    sim = item_knn(test.train, index, knn_size)
    knn_ties = tie_break(test.train, index)
    returning, cold = test.returning, test.cold
    binary = history_matrix(test, returning, n, None)
    weighted = history_matrix(test, returning, n, params.history_half_life_days)

    rng = np.random.default_rng(7)
    sample = list(rng.choice(returning, size=min(args.latency_requests, len(returning)), replace=False))
    rows: list[tuple[str, tuple[float, float, float, np.ndarray], tuple[float, float]]] = []
    rows.append(
        (
            "popularity",
            evaluate(pop, test, returning),
            percentile_ms(latency_baseline(lambda _items: pop, test, sample)),
        )
    )
    rows.append(
        (
            f"item-kNN (cosine, k={knn_size or 'all'})",
            evaluate(np.asarray(binary @ sim) + knn_ties, test, returning),
            percentile_ms(latency_baseline(lambda items: sim[items].sum(axis=0) + knn_ties, test, sample)),
        )
    )
    collab_only = replace(params, content_weight=0.0, popularity_weight=0.0)
    model.params = collab_only
    rows.append(
        (
            f"ours: {params.collaborative} only (ablation)",
            evaluate(model.batch_personal_scores(weighted), test, returning),
            (float("nan"), float("nan")),
        )
    )
    model.params = params
    rows.append(
        (
            f"ours: hybrid ({params.collaborative} + names + trend)",
            evaluate(model.batch_personal_scores(weighted), test, returning),
            percentile_ms(latency_ours(model, test, sample)),
        )
    )

    print()
    print(
        f"## test: train < {args.test_cut.date()}, returning customers: {len(returning)} "
        f"(targets: later purchases new to the customer)"
    )
    print(f"| model | Recall@{K} | NDCG@{K} | coverage | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for name, (recall, ndcg, cover, _), (p50, p95) in rows:
        print(f"| {name} | {recall:.4f} | {ndcg:.4f} | {cover:.3f} | {p50:.2f} | {p95:.2f} |")

    cold_rows = [
        ("popularity (all-time)", evaluate(pop, test, cold)),
        ("item-kNN (falls back to popularity)", evaluate(pop, test, cold)),
        (
            "ours: trending + customer's country",
            evaluate(cold_popularity(model, test, cold, history.countries), test, cold),
        ),
    ]
    print()
    print(f"## test: cold-start customers: {len(cold)}")
    print(f"| model | Recall@{K} | NDCG@{K} | coverage |")
    print("|---|---|---|---|")
    for name, (recall, ndcg, cover, _) in cold_rows:
        print(f"| {name} | {recall:.4f} | {ndcg:.4f} | {cover:.3f} |")

    # Other request types through the model (latency only: no ground truth in the data for them).
    text_samples, similar_samples, together_samples = [], [], []
    text.encode(["warm up"])
    for query in TEXT_QUERIES * 10:
        t0 = time.perf_counter()
        vector = text.encode([query])[0]
        top_k(model.text_scores(vector, text.words(query)))
        text_samples.append(time.perf_counter() - t0)
    for item in rng.choice(n, size=300, replace=False):
        t0 = time.perf_counter()
        top_k(model.similar_scores(int(item)))
        similar_samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scores, _evidence = model.together_scores([int(item)])
        top_k(scores)
        together_samples.append(time.perf_counter() - t0)
    print()
    print("| other request (ours) | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, samples in (
        ("free-text need (encode + match)", text_samples),
        ("similar to a product", similar_samples),
        ("frequently bought together", together_samples),
    ):
        p50, p95 = percentile_ms(samples)
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    print()
    print(f"fit on the training months: {fit_s:.1f}s; whole benchmark: {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
