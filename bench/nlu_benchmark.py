"""NLU benchmark: our fine-tuned joint encoder vs Rasa's stock DIET pipeline vs frozen embeddings + LR.

One command trains and evaluates every (data set, system) pair and prints one table side by side:

    nice -n 10 .venv/rasa/bin/python bench/nlu_benchmark.py                       # everything
    nice -n 10 .venv/rasa/bin/python bench/nlu_benchmark.py --datasets bitext --systems ours,frozen

Each pair runs in its own subprocess (clean peak-memory numbers, one crash does not lose the rest) and stores
its result in bench/results/<dataset>__<system>.json; finished pairs are reused unless --force, so the run is
resumable on a busy machine. --quick subsamples everything for a smoke run (results in bench/results/quick/).

Splits
- bitext: grouped by phrasing (rows differing only in entity values, numbers or case share a group; a group is
  on one side only), 80/20 per intent. Training also gets an `out_of_scope` intent from CLINC150 negatives
  (see training/clinc.py); the false-acceptance rate is measured on CLINC intents never used in training.
- bitext paraphrases: bench/data/shop_paraphrases_test.yml, hand-written customer phrasings (never trained on).
- bitext_shop: the bitext split, with every system also trained on training_data/nlu/paraphrases.yml (the
  shop's own varied phrasings of the Bitext intents; then only dev_phrasings.yml is left as the dev row).
- banking77: the official train/test split; OOS false acceptance by thresholding alone (no OOS class trained).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
PARAPHRASES = ROOT / "bench" / "data" / "shop_paraphrases_test.yml"
HELDOUT = ROOT / "bench" / "data" / "heldout_phrasings.csv"
# Tuning sets for the bitext protocol (pick settings on these, report the test sets): the shop's own paraphrases
# of the Bitext intents (training data of the shipped bot, never of this benchmark) and bench/data's dev set.
DEV_SETS = (ROOT / "training_data" / "nlu" / "paraphrases.yml", ROOT / "bench" / "data" / "dev_phrasings.yml")
THRESHOLD = 0.5  # the FallbackClassifier threshold we ship
OOS_INTENT = "out_of_scope"
OOS_TRAIN_PER_INTENT = 8
SPLIT_SEED = 13

for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}.items():
    os.environ.setdefault(name, value)

DIET_PIPELINE = [  # `rasa init`'s NLU pipeline (ResponseSelector dropped: no retrieval intents here)
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
    {"name": "EntitySynonymMapper"},
]
OURS = {"name": "bot.nlu.bert_joint.BertJointClassifier"}
# ours is served by ONNX Runtime (the default); the same trained weights are measured under these settings too
SERVING_VARIANTS: dict[str, dict[str, Any]] = {
    "metrics_torch": {"runtime": "torch"},
    "metrics_int8": {"runtime": "torch", "quantize": True},
}
VARIANT_LABELS = {"metrics_torch": "PyTorch eager", "metrics_int8": "int8"}
SYSTEMS: dict[str, list[dict[str, Any]]] = {
    "ours": [{"name": "WhitespaceTokenizer"}, OURS, {"name": "EntitySynonymMapper"}],
    # ablations: --systems ours --set freeze_layers=3 --tag freeze3 (or 5): tune only the upper blocks
    "diet": DIET_PIPELINE,
    "frozen": [],  # not a Rasa pipeline: sentence embeddings + scikit-learn
}
DATASETS = ("bitext", "bitext_shop", "banking77")


# ------------------------------------------------------------------------------------------------ data
def bitext_split(quick: bool) -> dict[str, Any]:
    from bot.nlu.phrasing import phrasing_key, split_by_phrasing
    from training.clinc import load_negatives

    rows = []
    with (DATA / "bitext" / "customer_support_intents.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text, entities = row["instruction"], []
            if row["entity_type"] and row["start_offset"]:
                start, end = int(row["start_offset"]), int(row["end_offset"])
                if 0 <= start < end <= len(text) and text[start:end].strip() == text[start:end]:
                    entities = [{"entity": row["entity_type"], "start": start, "end": end, "value": text[start:end]}]
            rows.append({"text": text, "intent": row["intent"], "entities": entities})
    keys = [phrasing_key(r["text"], r["entities"]) for r in rows]
    train_ids, test_ids = split_by_phrasing(keys, [r["intent"] for r in rows], 0.2, SPLIT_SEED)
    train, test = [rows[i] for i in train_ids], [rows[i] for i in test_ids]
    oos_train_pool, oos_test_pool, _, _ = load_negatives(DATA / "clinc150" / "train.csv")
    rng = random.Random(SPLIT_SEED)
    oos_train = rng.sample(oos_train_pool, min(len(oos_train_pool), 50 * OOS_TRAIN_PER_INTENT + 100))
    train += [{"text": t, "intent": OOS_INTENT, "entities": []} for t in oos_train]
    oos_test = rng.sample(oos_test_pool, 500)
    import yaml

    paraphrases = [
        {"text": text, "intent": intent, "entities": []}
        for intent, texts in yaml.safe_load(PARAPHRASES.read_text()).items()
        for text in texts
    ]
    with HELDOUT.open(newline="", encoding="utf-8") as handle:  # the lead's held-out customer phrasings
        heldout = [r for r in csv.DictReader(handle) if r["intent"] in {e["intent"] for e in train}]
    split = {"train": train, "test": test, "oos_test": oos_test, "paraphrases": paraphrases, "heldout": heldout}
    split["dev"] = dev_phrasings({e["intent"] for e in train} - {OOS_INTENT})
    train_groups = {keys[i] for i in train_ids}
    split["leak_check"] = sum(keys[i] in train_groups for i in test_ids)  # must be 0
    return _maybe_quick(split, quick)


def dev_phrasings(intents: set[str]) -> list[dict[str, Any]]:
    """Rows of DEV_SETS whose intent the benchmark trains (intents only: the dev row measures no entities)."""
    import yaml

    dev_file = yaml.safe_load(DEV_SETS[1].read_text(encoding="utf-8"))
    rows = [(row["intent"], row["text"]) for row in shop_paraphrases()]
    rows += [(intent, text) for intent, texts in dev_file.items() for text in texts]
    return [{"text": text, "intent": intent, "entities": []} for intent, text in rows if intent in intents]


def shop_paraphrases() -> list[dict[str, Any]]:
    """training_data/nlu/paraphrases.yml (the shop's hand-written Bitext-intent phrasings) with entity spans."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(DEV_SETS[0]))
    return [
        {
            "text": m.get("text"),
            "intent": m.get("intent"),
            "entities": [{k: e[k] for k in ("entity", "start", "end", "value")} for e in m.get("entities", [])],
        }
        for m in data.intent_examples
    ]


def banking77_split(quick: bool) -> dict[str, Any]:
    from training.clinc import load_negatives

    def read(name: str) -> list[dict[str, Any]]:
        with (DATA / "banking77" / name).open(newline="", encoding="utf-8") as handle:
            return [{"text": r["text"], "intent": r["category"], "entities": []} for r in csv.DictReader(handle)]

    _, oos_test_pool, _, _ = load_negatives(DATA / "clinc150" / "train.csv")
    oos_test = random.Random(SPLIT_SEED).sample(oos_test_pool, 500)
    return _maybe_quick({"train": read("train.csv"), "test": read("test.csv"), "oos_test": oos_test}, quick)


def cap_per_intent(examples: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """Seeded sample of at most `cap` training rows per intent, 4 x cap for out_of_scope (0 = all).

    Every system gets the same rows. Used when the shared 2-core machine cannot afford full-size runs.
    """
    if cap <= 0:
        return examples
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for example in examples:
        by_intent.setdefault(example["intent"], []).append(example)
    rng = random.Random(SPLIT_SEED)
    limits = {intent: cap * 4 if intent == OOS_INTENT else cap for intent in by_intent}  # negatives need variety
    return [e for i in sorted(by_intent) for e in rng.sample(by_intent[i], min(limits[i], len(by_intent[i])))]


def _maybe_quick(split: dict[str, Any], quick: bool) -> dict[str, Any]:
    if not quick:
        return split
    rng = random.Random(0)
    for key in ("train", "test", "oos_test"):
        split[key] = rng.sample(split[key], min(len(split[key]), {"train": 600}.get(key, 150)))
    return split


# ------------------------------------------------------------------------------------------------ systems
def write_rasa_nlu(examples: list[dict[str, Any]], path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [
        Message.build(text=e["text"], intent=e["intent"], entities=[dict(x) for x in e["entities"]]) for e in examples
    ]
    RasaYAMLWriter().dump(path, TrainingData(messages))


class RasaSystem:
    """Trains a Rasa NLU pipeline with rasa.model_training.train_nlu and parses through rasa's Agent."""

    def __init__(
        self, pipeline: list[dict[str, Any]], workdir: Path, overrides: dict[str, Any], diet_epochs: int = 0
    ) -> None:
        import yaml

        pipeline = [{**c, **overrides} if c["name"] == OURS["name"] else c for c in pipeline]
        if diet_epochs:
            pipeline = [{**c, "epochs": diet_epochs} if c["name"] == "DIETClassifier" else c for c in pipeline]
        self.config = workdir / "config.yml"
        self.config.write_text(yaml.safe_dump({"recipe": "default.v1", "language": "en", "pipeline": pipeline}))
        self.workdir = workdir
        # a training cache per run: concurrent benchmark processes race creating one shared cache database
        # ("table cache_entry already exists"), and nothing from another system's run should be reused
        os.environ["RASA_CACHE_DIRECTORY"] = str(workdir / "rasa-cache")

    def train(self, train: list[dict[str, Any]]) -> None:
        from rasa.core.agent import Agent
        from rasa.model_training import train_nlu

        data = self.workdir / "nlu.yml"
        write_rasa_nlu(train, data)
        model = train_nlu(str(self.config), str(data), str(self.workdir / "models"))
        self.agent = Agent.load(model)

    def parse(self, text: str) -> tuple[str, float, list[dict[str, Any]]]:
        result = asyncio.run(self.agent.parse_message(text))
        intent = result.get("intent") or {}
        return intent.get("name") or "", float(intent.get("confidence") or 0.0), result.get("entities", [])

    def serve_with(self, **settings: Any) -> bool:
        """Serve the trained model again with other serving settings (runtime, quantize); False if not ours."""
        from bench.serving import reload_joint_classifier

        return reload_joint_classifier(self.agent, **settings)


class FrozenEmbeddingSystem:
    """Frozen encoder, mean-pooled L2-normalised sentence vectors, multinomial logistic regression."""

    def __init__(self, path: str | None = None, prefix: str = "") -> None:
        """`path`: any local checkpoint (default all-MiniLM-L6-v2); `prefix`: what the encoder expects before a
        text, e.g. "query: " for the E5 family."""
        import torch
        from transformers import AutoModel

        from bot.nlu.model import default_encoder_path, load_tokenizer

        self.torch = torch
        path = path or default_encoder_path()
        self.prefix = prefix
        self.tokenizer = load_tokenizer(path)
        self.encoder = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def _pooled(self, texts: list[str], grad: bool = False):
        """Mean-pooled, unit-length sentence vectors of one batch (with gradients when tuning the encoder)."""
        torch = self.torch
        batch = self.tokenizer([self.prefix + t for t in texts], truncation=True, max_length=128, padding=True,
                               return_tensors="pt")
        with torch.set_grad_enabled(grad):
            states = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled, dim=-1)

    def embed(self, texts: list[str]):
        with self.torch.inference_mode():
            return self.torch.cat([self._pooled(texts[i : i + 64]) for i in range(0, len(texts), 64)]).numpy()

    def train(self, train: list[dict[str, Any]]) -> None:
        from sklearn.linear_model import LogisticRegression

        self.classifier = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
        self.classifier.fit(self.embed([e["text"] for e in train]), [e["intent"] for e in train])

    def parse(self, text: str) -> tuple[str, float, list[dict[str, Any]]]:
        probabilities = self.classifier.predict_proba(self.embed([text]))[0]
        best = int(probabilities.argmax())
        return str(self.classifier.classes_[best]), float(probabilities[best]), []


# ------------------------------------------------------------------------------------------------ metrics
def evaluate(system: Any, split: dict[str, Any], latency_samples: int) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    def run(examples: list[dict[str, Any]]) -> tuple[list[tuple[str, float, list]], list[float]]:
        out, timings = [], []
        for example in examples:
            started = time.perf_counter()
            out.append(system.parse(example["text"]))
            timings.append((time.perf_counter() - started) * 1000)
        return out, timings

    result: dict[str, Any] = {}
    predicted_by_set: dict[str, list[str]] = {}  # per-message intents, for paired comparisons between systems
    predictions, timings = run(split["test"])
    gold = [e["intent"] for e in split["test"]]
    predicted = predicted_by_set["test"] = [p[0] for p in predictions]
    result["accuracy"] = accuracy_score(gold, predicted)
    result["macro_f1"] = f1_score(gold, predicted, average="macro", labels=sorted(set(gold)), zero_division=0)
    result["in_domain_kept"] = sum(p[0] != OOS_INTENT and p[1] >= THRESHOLD for p in predictions) / len(predictions)
    gold_entities = [{(x["entity"], x["start"], x["end"]) for x in e["entities"]} for e in split["test"]]
    if any(gold_entities) and any(p[2] for p in predictions):
        found = [{(x["entity"], x["start"], x["end"]) for x in p[2]} for p in predictions]
        true_positive = sum(len(g & f) for g, f in zip(gold_entities, found, strict=True))
        precision = true_positive / max(1, sum(map(len, found)))
        recall = true_positive / max(1, sum(map(len, gold_entities)))
        result["entity_micro_f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    oos, oos_timings = run([{"text": t} for t in split["oos_test"]])
    result["oos_false_acceptance"] = sum(p[0] != OOS_INTENT and p[1] >= THRESHOLD for p in oos) / len(oos)
    if split.get("paraphrases"):
        para, _ = run(split["paraphrases"])
        predicted_by_set["paraphrases"] = [p[0] for p in para]
        result["paraphrase_accuracy"] = accuracy_score(
            [e["intent"] for e in split["paraphrases"]], [p[0] for p in para]
        )
    if split.get("dev"):
        dev, _ = run(split["dev"])
        predicted_by_set["dev"] = [p[0] for p in dev]
        result["dev_accuracy"] = accuracy_score([e["intent"] for e in split["dev"]], [p[0] for p in dev])
    if split.get("heldout"):
        held, _ = run(split["heldout"])
        predicted_by_set["heldout"] = [p[0] for p in held]
        in_domain = [(e, p) for e, p in zip(split["heldout"], held, strict=True) if e["intent"] != OOS_INTENT]
        out_domain = [p for e, p in zip(split["heldout"], held, strict=True) if e["intent"] == OOS_INTENT]
        result["heldout_accuracy"] = sum(e["intent"] == p[0] for e, p in in_domain) / max(1, len(in_domain))
        result["heldout_oos_false_acceptance"] = sum(
            p[0] != OOS_INTENT and p[1] >= THRESHOLD for p in out_domain
        ) / max(1, len(out_domain))
    # single-message latency on a fixed sample (warm: the test pass above already ran)
    sample = (timings + oos_timings)[: max(1, latency_samples)]
    result["latency_p50_ms"] = statistics.median(sample)
    result["latency_p95_ms"] = sorted(sample)[int(0.95 * (len(sample) - 1))]
    result["predictions"] = predicted_by_set
    return result


def prepared_split(dataset: str, quick: bool, train_cap: int) -> dict[str, Any]:
    """The training rows and evaluation sets of one data set, exactly as a worker sees them (deterministic)."""
    split = banking77_split(quick) if dataset == "banking77" else bitext_split(quick)
    split["train"] = cap_per_intent(split["train"], train_cap)
    if dataset == "bitext_shop":  # the same split, every system also trained on the shop's own paraphrases
        split["train"] += shop_paraphrases()
        trained = {e["text"] for e in split["train"]}
        split["dev"] = [row for row in split["dev"] if row["text"] not in trained]
    return split


def worker(
    dataset: str,
    system_name: str,
    quick: bool,
    out: Path,
    overrides: dict[str, Any],
    train_cap: int,
    threads: int,
    diet_epochs: int = 0,
) -> None:
    """Train + evaluate one system on one data set; write a JSON result."""
    import torch

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    split = prepared_split(dataset, quick, train_cap)
    with tempfile.TemporaryDirectory(prefix=f"nlubench-{dataset}-{system_name}-") as tmp:
        system: Any = (
            FrozenEmbeddingSystem()
            if system_name == "frozen"
            else RasaSystem(SYSTEMS[system_name], Path(tmp), overrides, diet_epochs)
        )
        started = time.perf_counter()
        system.train(split["train"])
        train_seconds = time.perf_counter() - started
        results = {"dataset": dataset, "system": system_name, "train_seconds": train_seconds}
        results.update(
            train_examples=len(split["train"]),
            test_examples=len(split["test"]),
            leak_check=split.get("leak_check"),
            train_per_intent_cap=train_cap,
            diet_epochs=(diet_epochs or 100) if system_name == "diet" else None,
            threads=threads,
        )
        results["metrics"] = evaluate(system, split, latency_samples=500)
        if system_name.startswith("ours") and dataset == "bitext":
            # the same trained weights under PyTorch eager and int8: what ONNX Runtime and quantisation cost
            for key, settings in SERVING_VARIANTS.items():
                if system.serve_with(**settings):
                    results[key] = evaluate(system, split, latency_samples=500)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


# ------------------------------------------------------------------------------------------------ table
ROWS = [
    ("dev phrasings acc. (tuning only)", "dev_accuracy", "{:.1%}"),
    ("intent accuracy", "accuracy", "{:.1%}"),
    ("intent macro-F1", "macro_f1", "{:.1%}"),
    ("entity micro-F1", "entity_micro_f1", "{:.1%}"),
    ("held-out paraphrases acc.", "paraphrase_accuracy", "{:.1%}"),
    ("lead's held-out phrasings acc.", "heldout_accuracy", "{:.1%}"),
    (f"lead's held-out out_of_scope accepted @{THRESHOLD}", "heldout_oos_false_acceptance", "{:.1%}"),
    (f"OOS false acceptance @{THRESHOLD}", "oos_false_acceptance", "{:.1%}"),
    (f"in-domain kept @{THRESHOLD}", "in_domain_kept", "{:.1%}"),
    ("latency p50 (ms)", "latency_p50_ms", "{:.1f}"),
    ("latency p95 (ms)", "latency_p95_ms", "{:.1f}"),
]


def table(results: list[dict[str, Any]]) -> str:
    columns: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for r in results:
        columns.append((f"{r['dataset']}: {r['system']}", r["metrics"], r))
        for key, label in VARIANT_LABELS.items():
            if key in r:
                columns.append((f"{r['dataset']}: {r['system']} {label}", r[key], r))
    header = "| metric | " + " | ".join(c[0] for c in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for label, key, fmt in ROWS:
        cells = [fmt.format(m[key]) if m.get(key) is not None else "—" for _, m, _ in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| training time | " + " | ".join(f"{r['train_seconds'] / 60:.1f} min" for _, _, r in columns) + " |")
    lines.append("| peak memory | " + " | ".join(f"{r['peak_rss_mb']:.0f} MB" for _, _, r in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--systems", default="ours,diet,frozen", help=f"from {', '.join(SYSTEMS)}")
    parser.add_argument("--force", action="store_true", help="re-run pairs that already have a result")
    parser.add_argument("--quick", action="store_true", help="subsampled smoke run (results kept apart)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override our component")
    parser.add_argument("--tag", default="", help="suffix for result files of --set variants")
    parser.add_argument(
        "--train-per-intent", type=int, default=0, metavar="N", help="train every system on at most N rows per intent"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per system (torch, TensorFlow)")
    parser.add_argument("--diet-epochs", type=int, default=0, help="DIET epochs (default: rasa init's 100)")
    parser.add_argument("--report", type=Path, metavar="DIR", help="only print the table of the results in DIR")
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "SYSTEM"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    if args.report:
        stored = [
            json.loads(path.read_text()) | {"system": path.stem.split("__", 1)[1]}
            for path in sorted(args.report.glob("*.json"))
        ]
        print(table(stored))
        return
    if args.worker:
        worker(
            args.worker[0],
            args.worker[1],
            args.quick,
            args.out,
            overrides,
            args.train_per_intent,
            args.threads,
            args.diet_epochs,
        )
        return
    results_dir = RESULTS / "quick" if args.quick else RESULTS
    if args.train_per_intent:
        results_dir = results_dir / f"cap{args.train_per_intent}"
    threads = str(args.threads)
    child_env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    child_env.update(TF_INTRA_OP_PARALLELISM_THREADS=threads, TF_INTER_OP_PARALLELISM_THREADS=threads)
    datasets, systems = args.datasets.split(","), args.systems.split(",")
    unknown = [d for d in datasets if d not in DATASETS] + [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown data set or system: {', '.join(unknown)}")
    results = []
    for dataset in datasets:
        for system in systems:
            name = system + (f"@{args.tag}" if args.tag else "")
            if system == "diet" and args.diet_epochs:
                name += f"@{args.diet_epochs}ep"
            out = results_dir / f"{dataset}__{name}.json"
            if args.force or not out.exists():
                print(f"[bench] {dataset} / {name}: training and evaluating ...", flush=True)
                command = [sys.executable, __file__, "--worker", dataset, system, "--out", str(out)]
                command += ["--quick"] * args.quick + [f"--set={s}" for s in args.set]
                command += [f"--train-per-intent={args.train_per_intent}", f"--threads={args.threads}"]
                command += [f"--diet-epochs={args.diet_epochs}"]
                if subprocess.run(command, cwd=ROOT, env=child_env).returncode != 0:
                    print(f"[bench] {dataset} / {name} FAILED", flush=True)
                    continue
            result = json.loads(out.read_text())
            result["system"] = name
            results.append(result)
            print(f"[bench] {dataset} / {name}: done ({result['train_seconds'] / 60:.1f} min training)", flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
