"""Train the recommender from the store database and publish it as a new versioned artifact.

    .venv/app/bin/python -m recommender.train [--database-url URL] [--out DIR]

Before the final fit it scores a holdout (the last --holdout-days of orders, trained on the rest) so the
manifest carries metrics for exactly this data; the running action server picks the new version up on
its next request (it watches the `current` pointer).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recommender import artifact
from recommender import model as hybrid
from recommender.data import History, load_history
from recommender.evaluation import history_matrix, recall_ndcg, seen_items, time_split, top_k
from store.db import make_engine


class TrainingError(Exception):
    pass


def holdout_metrics(history: History, params: hybrid.Params, embeddings: np.ndarray, days: int
                    ) -> dict[str, object]:
    """Recall/NDCG@10 on the last `days` of orders for returning customers, with popularity for scale."""
    if not history.purchases or days <= 0:
        return {"holdout_customers": 0}
    latest = max(p.placed_at for p in history.purchases)
    split = time_split(history, latest - timedelta(days=days))
    customers = split.returning
    if not customers or not split.train.purchases:
        return {"holdout_days": days, "holdout_customers": 0}
    model = hybrid.fit(split.train, params, embeddings=embeddings, progress=False)
    n = model.size
    excluded = seen_items(split, customers)
    targets = [split.targets[c] for c in customers]
    weights = history_matrix(split, customers, n, params.history_half_life_days)
    recall, ndcg = recall_ndcg(top_k(model.batch_personal_scores(weights), excluded), targets)
    pop_recall, pop_ndcg = recall_ndcg(top_k(np.tile(model.buyers, (len(customers), 1)), excluded), targets)
    return {"holdout_days": days, "holdout_customers": len(customers), "recall@10": round(recall, 4),
            "ndcg@10": round(ndcg, 4), "popularity_recall@10": round(pop_recall, 4),
            "popularity_ndcg@10": round(pop_ndcg, 4)}


def train(database_url: str | None, out: Path, params: hybrid.Params, holdout_days: int = 30, keep: int = 3,
          progress: bool = True) -> tuple[str, dict[str, object]]:
    """Everything the CLI does; returns (version, manifest metrics)."""
    steps = tqdm(total=5, desc="training recommender", unit="step", disable=not progress)
    steps.set_postfix_str("reading the store")
    history = load_history(make_engine(database_url))
    if not history.catalogue:
        raise TrainingError("the store has no products: seed it first (python -m store.seed)")
    if not history.purchases and params.collaborative != "ease":
        params = replace(params, collaborative="ease")  # nothing to factorise; EASE degrades to zero
    steps.update()
    steps.set_postfix_str("embedding product names")
    embeddings = hybrid.embed_names([item.name for item in history.catalogue], progress=progress)
    steps.update()
    steps.set_postfix_str("holdout evaluation")
    metrics = holdout_metrics(history, params, embeddings, holdout_days)
    steps.update()
    steps.set_postfix_str("fitting on all orders")
    started = time.perf_counter()
    fitted = hybrid.fit(history, params, embeddings=embeddings, progress=False)
    metrics["fit_seconds"] = round(time.perf_counter() - started, 2)
    steps.update()
    steps.set_postfix_str("saving")
    stats = {"products": len(history.catalogue), "purchase_lines": len(history.purchases),
             "customers": len({p.customer_id for p in history.purchases}),
             "orders": len({p.order_key for p in history.purchases})}
    version = artifact.save(fitted, out, history.fingerprint(), metrics, stats, keep=keep)
    steps.update()
    steps.close()
    return version, metrics


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m recommender.train", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None, help="default: $SHOPDESK_DATABASE_URL or var/shop.db")
    parser.add_argument("--out", type=Path, default=None,
                        help="artifact root (default: $SHOPDESK_RECOMMENDER_DIR or var/recommender)")
    parser.add_argument("--collaborative", choices=["ease", "als"], default=None,
                        help=f"collaborative learner (default: the benchmark's pick, {hybrid.Params().collaborative})")
    parser.add_argument("--holdout-days", type=int, default=30, help="days of orders held out for the manifest "
                        "metrics (0 to skip; default %(default)s)")
    parser.add_argument("--keep", type=int, default=3, help="versions to keep (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    params = hybrid.Params()
    if args.collaborative:
        params = replace(params, collaborative=args.collaborative)
    out = args.out or artifact.artifact_root()
    try:
        version, metrics = train(args.database_url, out, params, args.holdout_days, args.keep,
                                 progress=not args.no_progress)
    except TrainingError as error:
        print(f"training failed: {error}", file=sys.stderr)
        return 1
    shown = ", ".join(f"{k}={v}" for k, v in metrics.items())
    print(f"recommender {version} saved to {out / version} and made current ({shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
