"""Compare a candidate model with the current one on the same held-out NLU split and the test stories.

The split is deterministic (a hash of each example), so the current model, trained by the same loop,
never saw the held-out examples either and both face the same exam. Examples from logs always stay in
the training part: they are what the candidate must learn, and the held-out part measures what it
must not forget. The gate blocks promotion when overall accuracy or any intent's F1 drops by more than
the tolerance, or a test story that passed now fails.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from training.rasa_cli import run_rasa
from training.rasa_yaml import nlu_examples, yaml_files
from training.settings import TrainingSettings

AVERAGES = ("accuracy", "macro avg", "weighted avg", "micro avg")


def _bucket(intent: str, example: str) -> float:
    digest = hashlib.sha256(f"{intent}\x00{example}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def fingerprint(*paths: Path) -> str:
    """sha256 over the files (relative names and bytes), so the same data always gives the same value."""
    digest = hashlib.sha256()
    for root in paths:
        files = yaml_files(root) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(root) if root.is_dir() else path.name).encode() + b"\x00")
            digest.update(path.read_bytes() + b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True)
class Split:
    train_dir: Path
    heldout: Path
    heldout_examples: int
    fingerprint: str  # of the held-out file


def split_data(settings: TrainingSettings, out_dir: Path) -> Split:
    """A copy of the training data without the held-out examples, and those examples as heldout.yml.

    Per intent, the `heldout_fraction` of its examples with the lowest hash (intents with fewer than
    four examples keep them all); examples from logs are never held out.
    """
    train_dir, heldout_path = out_dir / "train_data", out_dir / "heldout.yml"
    if train_dir.exists():
        shutil.rmtree(train_dir)
    by_intent: dict[str, list[str]] = {}
    export_file = settings.export_file.resolve()
    files = yaml_files(settings.data_dir)
    for path in files:
        if path.resolve() != export_file:
            for intent, example in nlu_examples(yaml.safe_load(path.read_text(encoding="utf-8"))):
                by_intent.setdefault(intent, []).append(example)
    held: set[tuple[str, str]] = set()
    for intent, examples in by_intent.items():
        unique = sorted(set(examples), key=lambda e: _bucket(intent, e))
        if len(unique) >= 4:
            held.update((intent, e) for e in unique[:max(1, round(len(unique) * settings.heldout_fraction))])
    for path in files:
        target = train_dir / path.relative_to(settings.data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.resolve() == export_file or not isinstance(data, dict) or not data.get("nlu"):
            shutil.copyfile(path, target)
            continue
        data["nlu"] = [_without(item, held) for item in data["nlu"]]
        target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096), encoding="utf-8")
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted({i for i, _ in held}):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {e}" for i, e in sorted(held) if i == intent]
    heldout_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Split(train_dir, heldout_path, len(held), fingerprint(heldout_path))


def _without(item: Any, held: set[tuple[str, str]]) -> Any:
    if not isinstance(item, dict) or "intent" not in item:
        return item
    intent, examples = str(item["intent"]), item.get("examples")
    if isinstance(examples, str):
        kept = [line for line in examples.splitlines()
                if not (line.strip().startswith("- ") and (intent, line.strip()[2:].strip()) in held)]
        return {**item, "examples": "\n".join(kept) + "\n"}
    if isinstance(examples, list):
        return {**item, "examples": [e for e in examples if not (
            isinstance(e, dict) and (intent, str(e.get("text", "")).strip()) in held)]}
    return item


def has_test_stories(directory: Path) -> bool:
    return directory.is_dir() and any(p.name.startswith("test_") for p in yaml_files(directory))


def evaluate(settings: TrainingSettings, model: Path, split: Split, out_dir: Path,
             on_line: Callable[[str], None] | None = None) -> dict[str, Any]:
    """`rasa test` (NLU on the held-out file, core on the test stories) → metrics as plain JSON."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    args = ["test", "--model", str(model), "--nlu", str(split.heldout), "--out", str(out_dir)]
    stories = has_test_stories(settings.test_stories_dir)
    if stories:
        args += ["--stories", str(settings.test_stories_dir)]
    else:
        args[0:1] = ["test", "nlu"]
    run_rasa(settings, *args, on_line=on_line)
    metrics = read_intent_report(out_dir / "intent_report.json")
    metrics["stories"] = read_story_results(settings.test_stories_dir, out_dir) if stories else {
        "total": 0, "failed": []}
    metrics["heldout_fingerprint"] = split.fingerprint
    metrics["stories_fingerprint"] = stories_fingerprint(settings)
    return metrics


def stories_fingerprint(settings: TrainingSettings) -> str:
    return fingerprint(settings.test_stories_dir) if settings.test_stories_dir.is_dir() else ""


def read_intent_report(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text(encoding="utf-8"))
    per_intent, confusions = {}, []
    for intent, values in report.items():
        if intent in AVERAGES or not isinstance(values, dict):
            continue
        per_intent[intent] = {"f1": round(float(values.get("f1-score", 0.0)), 4),
                              "precision": round(float(values.get("precision", 0.0)), 4),
                              "recall": round(float(values.get("recall", 0.0)), 4),
                              "support": int(values.get("support", 0))}
        confusions += [{"intent": intent, "predicted": other, "count": int(count)}
                       for other, count in (values.get("confused_with") or {}).items()]
    macro = report.get("macro avg") or {}
    return {"accuracy": round(float(report.get("accuracy", 0.0)), 4),
            "macro_f1": round(float(macro.get("f1-score", 0.0)), 4),
            "per_intent": per_intent,
            "confusions": sorted(confusions, key=lambda c: -c["count"])}


def read_story_results(stories_dir: Path, out_dir: Path) -> dict[str, Any]:
    total = 0
    for path in yaml_files(stories_dir):
        if path.name.startswith("test_"):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            total += len(data.get("stories") or []) if isinstance(data, dict) else 0
    failed_path = out_dir / "failed_test_stories.yml"
    failed_data = yaml.safe_load(failed_path.read_text(encoding="utf-8")) if failed_path.exists() else None
    failed = sorted({str(s.get("story", "")).split(" (")[0] for s in (failed_data or {}).get("stories") or []
                     if isinstance(s, dict)}) if isinstance(failed_data, dict) else []
    return {"total": total, "failed": failed}


def compare(candidate: Mapping[str, Any], current: Mapping[str, Any] | None, tolerance: float) -> dict[str, Any]:
    """Per-intent F1 deltas, confusion pairs, story failures, and whether anything regressed too far."""
    if current is None:
        return {"tolerance": tolerance, "baseline": False, "passed": True, "regressions": [],
                "accuracy_delta": None, "per_intent": {
                    i: {"candidate": v["f1"], "current": None, "delta": None, "support": v["support"]}
                    for i, v in sorted(candidate["per_intent"].items())},
                "new_story_failures": candidate["stories"]["failed"], "fixed_stories": [],
                "confusions": candidate["confusions"][:15]}
    regressions = []
    accuracy_delta = round(candidate["accuracy"] - current["accuracy"], 4)
    if accuracy_delta < -tolerance:
        regressions.append(f"accuracy {current['accuracy']:.3f} → {candidate['accuracy']:.3f}")
    per_intent = {}
    for intent in sorted(set(candidate["per_intent"]) | set(current["per_intent"])):
        new, old = candidate["per_intent"].get(intent), current["per_intent"].get(intent)
        new_f1, old_f1 = (new or {}).get("f1", 0.0), (old or {}).get("f1")
        delta = None if old_f1 is None else round(new_f1 - old_f1, 4)
        per_intent[intent] = {"candidate": new_f1, "current": old_f1, "delta": delta,
                              "support": (new or old or {}).get("support", 0)}
        if delta is not None and delta < -tolerance:
            regressions.append(f"{intent} F1 {old_f1:.3f} → {new_f1:.3f}")
    old_failed, new_failed = set(current["stories"]["failed"]), set(candidate["stories"]["failed"])
    new_story_failures = sorted(new_failed - old_failed)
    regressions += [f"story fails now: {name}" for name in new_story_failures]
    return {"tolerance": tolerance, "baseline": True, "passed": not regressions, "regressions": regressions,
            "accuracy_delta": accuracy_delta, "accuracy": {"candidate": candidate["accuracy"],
                                                           "current": current["accuracy"]},
            "per_intent": per_intent, "new_story_failures": new_story_failures,
            "fixed_stories": sorted(old_failed - new_failed), "confusions": candidate["confusions"][:15]}
