"""Trained shop-bot models side by side on wording they never saw: held-out phrasings and unseen off-topic questions.

    .venv/rasa/bin/python bench/shipped_nlu_eval.py --model shipped=models/shopdesk.tar.gz \
        --model before=/path/to/older.tar.gz

A model may name serving settings of our component after its path (`NAME=PATH,key=value,...`), e.g.
`--model torch=models/shopdesk.tar.gz,runtime=torch`: the same trained weights, run another way. With more than
one model, the table also shows how often each agrees with the first one (intent, entities), which is how a
faster runtime is shown to keep the model's answers.

`--sets dev` measures the tuning sets instead: bench/data/dev_phrasings.yml and the CLINC topics that
`python -m training.clinc --tuning` leaves out (train the candidate on a copy of training_data with those
negatives; docs/BENCHMARKS.md shows the commands).

Each model goes through Rasa's own `Agent.parse_message`, one message at a time (the pipeline as served,
FallbackClassifier included). Evaluation sets, none of which is in training_data/:
- `bench/data/heldout_phrasings.csv`: customers' phrasings in another voice (bench/data/README.md);
- `bench/data/shop_paraphrases_test.yml`: hand-written paraphrases of the 27 Bitext intents;
- CLINC150 utterances of the held-out half of non-shop intents (training.clinc.load_negatives): topics that
  never appear as `out_of_scope` training examples.
"Accepted" = the message got a shop intent, i.e. not out_of_scope / nlu_fallback / invalid_input.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}.items():
    os.environ.setdefault(key, value)

from training.clinc import DEFAULT_CSV as CLINC_CSV  # noqa: E402
from training.clinc import dev_topics, load_negatives  # noqa: E402

HELDOUT = ROOT / "bench" / "data" / "heldout_phrasings.csv"
PARAPHRASES = ROOT / "bench" / "data" / "shop_paraphrases_test.yml"
DEV = ROOT / "bench" / "data" / "dev_phrasings.yml"
NOT_ACCEPTED = {"out_of_scope", "nlu_fallback", "invalid_input"}


def dev_sets(clinc_limit: int) -> dict[str, list[tuple[str, str]]]:
    """For choosing settings: bench/data/dev_phrasings.yml and the CLINC topics `training.clinc --tuning` leaves out."""
    dev = [(text, intent) for intent, texts in yaml.safe_load(DEV.read_text()).items() for text in texts]
    return {
        "dev_in_domain": [(t, i) for t, i in dev if i != "out_of_scope"],
        "dev_out_of_scope": [(t, i) for t, i in dev if i == "out_of_scope"],
        "clinc_dev_topics": [(t, "out_of_scope") for t in dev_topics(CLINC_CSV, clinc_limit)],
    }


def evaluation_sets(clinc_limit: int) -> dict[str, list[tuple[str, str]]]:
    with HELDOUT.open(newline="", encoding="utf-8") as handle:
        heldout = [(row["text"], row["intent"]) for row in csv.DictReader(handle)]
    paraphrases = [(text, intent) for intent, texts in yaml.safe_load(PARAPHRASES.read_text()).items()
                   for text in texts]
    clinc = load_negatives(CLINC_CSV)[1]
    clinc = random.Random(7).sample(clinc, min(clinc_limit, len(clinc)))
    return {
        "heldout_in_domain": [(t, i) for t, i in heldout if i != "out_of_scope"],
        "heldout_out_of_scope": [(t, i) for t, i in heldout if i == "out_of_scope"],
        "paraphrases": paraphrases,
        "clinc_unseen_topics": [(t, "out_of_scope") for t in clinc],
    }


Parse = tuple[str, frozenset[tuple[str, int, int, str]]]  # (intent, entities as (type, start, end, value))


async def predict(
    model: Path, texts: list[str], label: str, settings: dict[str, Any]
) -> tuple[list[Parse], list[float]]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from bench.serving import reload_joint_classifier

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    if settings and not reload_joint_classifier(agent, **settings):
        raise SystemExit(f"{model}: no trained BertJointClassifier to apply {settings} to")
    await agent.parse_message("warm up")
    parses, seconds = [], []
    for text in tqdm(texts, desc=label, unit="msg", leave=False):
        start = time.perf_counter()
        result = await agent.parse_message(text)
        seconds.append(time.perf_counter() - start)
        entities = frozenset((e["entity"], e["start"], e["end"], str(e.get("value"))) for e in result["entities"])
        parses.append((result["intent"]["name"], entities))
    return parses, seconds


def agreement(parses: list[Parse], reference: list[Parse]) -> dict[str, float]:
    """Share of messages where a model gives the reference model's intent / exactly its entities."""
    pairs = list(zip(parses, reference, strict=True))
    return {
        "same intent as the first model": sum(a[0] == b[0] for a, b in pairs) / len(pairs),
        "same entities as the first model": sum(a[1] == b[1] for a, b in pairs) / len(pairs),
    }


def metrics(sets: dict[str, list[tuple[str, str]]], parses: list[Parse], seconds: list[float]) -> dict[str, float]:
    intents = [intent for intent, _ in parses]
    out, cursor = {}, 0
    for name, rows in sets.items():
        predicted, cursor = intents[cursor:cursor + len(rows)], cursor + len(rows)
        accepted = sum(p not in NOT_ACCEPTED for p in predicted) / len(rows)
        if name in ("heldout_in_domain", "paraphrases", "dev_in_domain"):
            out[f"{name}: intent accuracy"] = sum(p == g for p, (_, g) in zip(predicted, rows, strict=True)) / len(rows)
            out[f"{name}: kept (a shop intent)"] = accepted
        else:
            out[f"{name}: accepted as a shop intent"] = accepted
    ordered = sorted(seconds)
    out["latency p50 (ms)"] = statistics.median(ordered) * 1000
    out["latency p95 (ms)"] = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    return out


def parse_settings(spec: str) -> tuple[Path, dict[str, Any]]:
    """`PATH,key=value,...` -> (PATH, {key: value}) with YAML-typed values (`quantize=true` -> True)."""
    path, *pairs = spec.split(",")
    return Path(path), {key: yaml.safe_load(value) for key, value in (pair.split("=", 1) for pair in pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", metavar="NAME=PATH[,key=value...]",
                        help="a trained Rasa model archive (repeat to compare); default shipped=models/shopdesk.tar.gz")
    parser.add_argument("--clinc-limit", type=int, default=500, help="CLINC utterances to sample")
    parser.add_argument("--sets", choices=("test", "dev"), default="test",
                        help="dev: the tuning sets (choose settings there, then measure once on test)")
    args = parser.parse_args()
    specs = (item.split("=", 1) for item in (args.model or ["shipped=models/shopdesk.tar.gz"]))
    models = {name: parse_settings(spec) for name, spec in specs}
    sets = (dev_sets if args.sets == "dev" else evaluation_sets)(args.clinc_limit)
    texts = [text for rows in sets.values() for text, _ in rows]
    print("sets: " + ", ".join(f"{name} {len(rows)}" for name, rows in sets.items()))
    results: dict[str, dict[str, Any]] = {}
    reference: list[Parse] | None = None
    for name, (path, model_settings) in models.items():
        parses, seconds = asyncio.run(predict(path, texts, name, model_settings))
        results[name] = metrics(sets, parses, seconds)
        reference = reference or parses
        if len(models) > 1:
            results[name] |= agreement(parses, reference)
    names = list(results)
    print("\n| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for metric in results[names[0]]:
        cells = [f"{v:.1f}" if "ms" in metric else f"{v:.1%}" for v in (results[n][metric] for n in names)]
        print(f"| {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
