"""Paired comparison of two NLU benchmark results: which messages each system gets right that the other misses.

Accuracy gaps of a few messages between two systems on the same test set are often noise. The exact McNemar
test looks only at the discordant messages (one system right, the other wrong) and says how likely a split
at least that uneven is if both systems were equally good. Reads the per-message predictions that
`bench/nlu_benchmark.py` stores and rebuilds the gold labels from the same deterministic split:

    .venv/rasa/bin/python bench/paired_comparison.py bench/results/cap40 ours frozen --dataset bitext
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_benchmark import OOS_INTENT, prepared_split

SETS = {  # prediction key -> (split key, label)
    "test": ("test", "grouped split"),
    "paraphrases": ("paraphrases", "held-out paraphrases"),
    "dev": ("dev", "dev row (tuning)"),
    "heldout": ("heldout", "lead's held-out phrasings"),
}


def mcnemar(first: list[bool], second: list[bool]) -> tuple[int, int, float]:
    """(first right / second wrong, first wrong / second right, exact two-sided p-value)."""
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    discordant = only_first + only_second
    p_value = binomtest(only_first, discordant, 0.5).pvalue if discordant else 1.0
    return only_first, only_second, p_value


def correctness(result: dict[str, Any], key: str, gold: list[str]) -> list[bool]:
    predicted = result["metrics"]["predictions"][key]
    if len(predicted) != len(gold):
        raise SystemExit(f"{result['system']}: {key} has {len(predicted)} predictions for {len(gold)} rows")
    return [p == g for p, g in zip(predicted, gold, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a bench/results directory")
    parser.add_argument("first", help="system name (file suffix), e.g. ours or ours_fp5")
    parser.add_argument("second")
    parser.add_argument("--dataset", default="bitext")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    paths = [args.results / f"{args.dataset}__{name}.json" for name in (args.first, args.second)]
    results = [json.loads(path.read_text()) for path in paths]
    caps = {r["train_per_intent_cap"] for r in results}
    if len(caps) != 1:
        raise SystemExit(f"the two results were trained on different caps: {caps}")
    split = prepared_split(args.dataset, args.quick, caps.pop())
    print(f"| set | {args.first} right | {args.second} right | only {args.first} | only {args.second} | McNemar p |")
    print("|---|---|---|---|---|---|")
    pooled: list[list[bool]] = [[], []]
    for key, (split_key, label) in SETS.items():
        if not split.get(split_key) or any(key not in r["metrics"].get("predictions", {}) for r in results):
            continue
        rows = split[split_key]
        keep = [i for i, row in enumerate(rows) if key != "heldout" or row["intent"] != OOS_INTENT]
        gold = [row["intent"] for row in rows]
        first, second = ([c[i] for i in keep] for c in (correctness(r, key, gold) for r in results))
        if key in ("paraphrases", "heldout"):  # the foreign-wording test sets (dev is for tuning)
            pooled[0] += first
            pooled[1] += second
        only_first, only_second, p_value = mcnemar(first, second)
        counts = f"{sum(first)} | {sum(second)} | {only_first} | {only_second}"
        print(f"| {label} ({len(keep)}) | {counts} | {p_value:.3f} |")
    if pooled[0]:
        only_first, only_second, p_value = mcnemar(*pooled)
        counts = f"{sum(pooled[0])} | {sum(pooled[1])} | {only_first} | {only_second}"
        print(f"| foreign-wording test sets together ({len(pooled[0])}) | {counts} | {p_value:.3f} |")


if __name__ == "__main__":
    main()
