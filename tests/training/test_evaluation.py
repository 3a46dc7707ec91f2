"""Held-out split, the regression gate and the report charts (no training here: see test_loop.py)."""

from __future__ import annotations

from xml.etree import ElementTree

import yaml

from training.evaluation import compare, fingerprint, split_data
from training.rasa_yaml import nlu_examples, read_training_examples
from training.report_charts import CHARTS
from training.settings import TrainingSettings


def metrics(accuracy: float, f1: dict[str, float], failed: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    return {"accuracy": accuracy, "macro_f1": sum(f1.values()) / len(f1),
            "per_intent": {i: {"f1": v, "precision": v, "recall": v, "support": 4} for i, v in f1.items()},
            "confusions": [{"intent": "greet", "predicted": "goodbye", "count": 2}],
            "stories": {"total": 2, "failed": failed or []}}


def test_split_is_deterministic_and_keeps_log_data_for_training(project: TrainingSettings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    project.export_file.write_text('version: "3.1"\nnlu:\n- intent: cancel_order\n  examples: |\n'
                                   "    - please halt the shipment\n")
    first, second = split_data(project, tmp_path / "a"), split_data(project, tmp_path / "b")
    assert first.fingerprint == second.fingerprint and first.heldout_examples == 9  # 2 of 8 per intent, 1 of 5
    held = list(nlu_examples(yaml.safe_load(first.heldout.read_text())))
    trained = [(i, e) for i, e, _ in read_training_examples(first.train_dir)]
    assert not set(held) & set(trained)
    assert len(held) + len(trained) == len(read_training_examples(project.data_dir))
    assert ("cancel_order", "please halt the shipment") in trained
    assert (first.train_dir / "rules.yml").read_text() == (project.data_dir / "rules.yml").read_text()
    assert fingerprint(project.data_dir) != fingerprint(first.train_dir)


def test_gate_passes_within_tolerance() -> None:
    report = compare(metrics(0.90, {"greet": 0.9, "cancel_order": 0.99}),
                     metrics(0.91, {"greet": 0.91, "cancel_order": 0.8}), tolerance=0.02)
    assert report["passed"] and report["regressions"] == []
    assert report["per_intent"]["cancel_order"]["delta"] == 0.19
    assert report["accuracy_delta"] == -0.01


def test_gate_blocks_an_accuracy_drop_an_intent_drop_or_a_newly_failing_story() -> None:
    current = metrics(0.95, {"greet": 1.0, "track_order": 0.9}, failed=["old failure"])
    report = compare(metrics(0.90, {"greet": 1.0, "track_order": 0.9}), current, tolerance=0.02)
    assert not report["passed"] and report["regressions"] == ["accuracy 0.950 → 0.900"]
    report = compare(metrics(0.95, {"greet": 0.97, "track_order": 0.9}), current, tolerance=0.02)
    assert report["regressions"] == ["greet F1 1.000 → 0.970"]
    report = compare(metrics(0.95, {"greet": 1.0, "track_order": 0.9}, failed=["say hello"]), current, 0.02)
    assert report["regressions"] == ["story fails now: say hello"] and report["fixed_stories"] == ["old failure"]
    first = compare(metrics(0.5, {"greet": 0.5}), None, 0.02)
    assert first["passed"] and not first["baseline"]


def test_charts_are_well_formed_svg_with_escaped_labels() -> None:
    report = compare(metrics(0.9, {"greet": 0.9, "a<b>&c": 0.5}), metrics(0.9, {"greet": 1.0, "a<b>&c": 0.4}), 0.02)
    for name, chart in CHARTS.items():
        svg = chart(report)
        root = ElementTree.fromstring(svg)
        assert root.tag.endswith("svg"), name
        assert "<b>" not in svg and "<script" not in svg
