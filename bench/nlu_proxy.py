"""Fast proxy for NLU training-data changes: frozen all-MiniLM-L6-v2 sentence vectors + logistic regression.

    HF_HUB_OFFLINE=1 nice -n 10 .venv/app/bin/python bench/nlu_proxy.py             # dev sets only
    HF_HUB_OFFLINE=1 nice -n 10 .venv/app/bin/python bench/nlu_proxy.py --test      # + the test sets (final only)

Fine-tuning the shipped encoder takes ~15 minutes on two cores; this takes a few (sentence vectors are cached in
bench/results/nlu_proxy/), so data can be judged while it is written. Two classifiers are trained on identical
settings: (a) the training data without training_data/nlu/widened/ and (b) with it. Both get the same Bitext rows
(training_data/nlu/generated/bitext.yml, `make data`) and the same CLINC150 negatives, taken as
`python -m training.clinc --tuning` takes them (half of the training-pool topics), so the out-of-scope false
acceptance is measured on CLINC topics neither classifier saw (training.clinc.dev_topics).

It ranks data, not models: a frozen encoder cannot learn what fine-tuning learns, so absolute numbers sit below
the shipped model's; what carries over is which intents and confusions are weak. The test sets
(bench/data/heldout_phrasings.csv, shop_paraphrases_test.yml) are read only with --test: never pick data on them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.nlu_sets import DEV_SETS, GENERATED, NLU, TEST_SETS, WIDENED, Row, read_eval_set, training_rows  # noqa: E402
from training.clinc import DEFAULT_CSV as CLINC_CSV  # noqa: E402
from training.clinc import dev_topics, training_sample, tuning_halves  # noqa: E402

CACHE = ROOT / "bench" / "results" / "nlu_proxy" / "embeddings.npz"
OOS = "out_of_scope"
NOT_ACCEPTED = {OOS, "invalid_input"}
THRESHOLD = 0.5  # the shipped FallbackClassifier threshold
CLINC_PER_INTENT = 8  # as `training.clinc --tuning` (2 x its default 4)


class Encoder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 vectors (as bench/nlu_benchmark.py's frozen system), cached."""

    def __init__(self, cache: Path = CACHE) -> None:
        self.cache = cache
        self.known: dict[str, np.ndarray] = {}
        if cache.is_file():
            with np.load(cache) as stored:
                self.known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        self.model = None

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self.known))
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                self.known[self.key(text)] = vector
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self.known)
            np.savez(self.cache, keys=np.array(keys), vectors=np.stack([self.known[k] for k in keys]))
        return np.stack([self.known[self.key(t)] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch
        from transformers import AutoModel

        from bot.nlu.model import default_encoder_path, load_tokenizer

        torch.set_num_threads(1)  # a shared 2-core machine
        if self.model is None:
            path = default_encoder_path()
            self.tokenizer = load_tokenizer(path)
            self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = self.tokenizer(texts[start : start + 64], truncation=True, max_length=64, padding=True,
                                       return_tensors="pt")
                states = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out).astype(np.float32)


def training_sets() -> dict[str, list[Row]]:
    """'old' (without widened/) and 'new' (with it); CLINC negatives from the tuning half, as `--tuning`."""
    if not (GENERATED / "bitext.yml").is_file():
        raise SystemExit("training_data/nlu/generated/bitext.yml is missing: run `make data` first")
    negatives = training_sample(CLINC_CSV, CLINC_PER_INTENT, intents=set(tuning_halves(CLINC_CSV)[0]))
    old = training_rows(NLU, exclude=[WIDENED, GENERATED / "clinc_out_of_scope.yml"])
    old += [(text, OOS) for text in negatives]
    return {"old": old, "new": old + training_rows(WIDENED)}


def evaluation_sets(with_test: bool) -> dict[str, list[Row]]:
    sets = {name: read_eval_set(path) for name, path in DEV_SETS.items()}
    sets["clinc_dev_topics"] = [(text, OOS) for text in dev_topics(CLINC_CSV)]
    if with_test:
        sets |= {name: read_eval_set(path) for name, path in TEST_SETS.items()}
    return sets


def train(rows: list[Row], encode: Encoder):
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
    classifier.fit(encode([t for t, _ in rows]), [i for _, i in rows])
    return classifier


def predict(classifier, rows: list[Row], encode: Encoder) -> list[tuple[str, float]]:
    probabilities = classifier.predict_proba(encode([t for t, _ in rows]))
    best = probabilities.argmax(axis=1)
    return [(str(classifier.classes_[b]), float(p[b])) for b, p in zip(best, probabilities, strict=True)]


def scores(rows: list[Row], predicted: list[tuple[str, float]]) -> dict[str, float | int]:
    """Accuracy on in-scope rows (argmax, and correct with confidence >= THRESHOLD); OOS false acceptance."""
    pairs = list(zip(rows, predicted, strict=True))
    inside = [(gold, p) for (_, gold), p in pairs if gold != OOS]
    outside = [p for (_, gold), p in pairs if gold == OOS]
    result: dict[str, float | int] = {"n": len(inside), "n_oos": len(outside)}
    if inside:
        result["accuracy"] = sum(gold == p[0] for gold, p in inside) / len(inside)
        result["accepted_correct"] = sum(gold == p[0] and p[1] >= THRESHOLD for gold, p in inside) / len(inside)
    if outside:
        result["oos_false_acceptance"] = sum(p[0] not in NOT_ACCEPTED and p[1] >= THRESHOLD for p in outside) / len(
            outside
        )
    return result


def per_intent(rows: list[Row], predicted: list[tuple[str, float]]) -> dict[str, tuple[int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, gold), (intent, _) in zip(rows, predicted, strict=True):
        totals[gold][0] += gold == intent
        totals[gold][1] += 1
    return {intent: (right, total) for intent, (right, total) in totals.items()}


def report(results: dict[str, dict[str, dict]], verbose: int) -> str:
    lines = ["| set | n (in-scope / oos) | accuracy old → new | accepted & correct old → new "
             "| OOS false acc. old → new |", "|---|---|---|---|---|"]

    def cell(name: str, metric: str) -> str:
        old, new = results["old"][name]["scores"].get(metric), results["new"][name]["scores"].get(metric)
        return "–" if old is None else f"{100 * old:.1f}% → {100 * new:.1f}%"

    for name in results["new"]:
        s = results["new"][name]["scores"]
        lines.append(f"| {name} | {s['n']} / {s['n_oos']} | {cell(name, 'accuracy')} | "
                     f"{cell(name, 'accepted_correct')} | {cell(name, 'oos_false_acceptance')} |")
    pooled_old: Counter[str] = Counter()
    pooled: dict[str, dict[str, list[int]]] = {"old": defaultdict(lambda: [0, 0]), "new": defaultdict(lambda: [0, 0])}
    confusions: Counter[tuple[str, str]] = Counter()
    for side in ("old", "new"):
        for name, entry in results[side].items():
            if name.startswith("test_") or name == "clinc_dev_topics":
                continue  # per-intent views are for finding holes: dev sets only
            for intent, (right, total) in entry["per_intent"].items():
                pooled[side][intent][0] += right
                pooled[side][intent][1] += total
            if side == "new":
                confusions.update(entry["confusions"])
    pooled_old.update({i: 0 for i in pooled["old"]})
    lines += ["", "Per intent, all dev sets pooled (old → new), worst new first:", ""]
    ranked = sorted(pooled["new"].items(), key=lambda item: item[1][0] / item[1][1])
    lines.append(" | ".join(
        f"{intent} {100 * pooled['old'][intent][0] / t:.0f}→{100 * r / t:.0f}% (n={t})" for intent, (r, t) in ranked
    ))
    lines += ["", "Worst confusions with the new data (gold → predicted: count), dev sets pooled:", ""]
    lines.append(", ".join(f"{g} → {p}: {c}" for (g, p), c in confusions.most_common(20)))
    if verbose:
        lines += ["", "Misread dev messages (new data):"]
        for name, entry in results["new"].items():
            if not name.startswith("test_"):
                lines += [f"  [{name}] {gold} → {p} ({conf:.2f}): {text}" for text, gold, p, conf in entry["errors"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--test", action="store_true", help="also measure the test sets (final numbers only)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="list the misread dev messages")
    args = parser.parse_args(argv)
    encode = Encoder()
    evaluations = evaluation_sets(args.test)
    results: dict[str, dict[str, dict]] = {}
    for side, rows in training_sets().items():
        print(f"training '{side}' on {len(rows)} examples, {len({i for _, i in rows})} intents", file=sys.stderr)
        classifier = train(rows, encode)
        results[side] = {}
        for name, eval_rows in evaluations.items():
            predicted = predict(classifier, eval_rows, encode)
            wrong = [(t, g, p, c) for (t, g), (p, c) in zip(eval_rows, predicted, strict=True)
                     if (p != g if g != OOS else p not in NOT_ACCEPTED and c >= THRESHOLD)]
            results[side][name] = {
                "scores": scores(eval_rows, predicted),
                "per_intent": per_intent(eval_rows, predicted),
                "confusions": Counter((g, p) for _, g, p, _ in wrong if g != OOS),
                "errors": wrong,
            }
    print(report(results, args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
