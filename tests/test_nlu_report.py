"""bench/nlu_report.py's scoring: what counts as right, kept, accepted and confused (pure functions)."""

from __future__ import annotations

from bench.nlu_report import SystemRun, confusions, per_intent, report, set_scores

ROWS = [("where is it", "track_order"), ("cancel it", "cancel_order"), ("refund pls", "get_refund"),
        ("weather?", "out_of_scope"), ("a poem", "out_of_scope")]
# (best shop intent before the fallback, what the pipeline answered)
PREDICTIONS = [("track_order", "track_order"), ("cancel_order", "nlu_fallback"), ("track_order", "track_order"),
               ("delivery_period", "delivery_period"), ("greet", "out_of_scope")]


def test_set_scores_separate_argmax_accuracy_from_what_the_pipeline_answered() -> None:
    scores = set_scores(ROWS, PREDICTIONS)
    assert scores["n"] == 3 and scores["n_oos"] == 2
    assert scores["accuracy"] == 2 / 3  # cancel_order was the best guess, though below the threshold
    assert scores["kept"] == 2 / 3 and scores["accepted_correct"] == 1 / 3
    assert scores["oos_false_acceptance"] == 1 / 2  # the weather question got a shop intent


def test_per_intent_and_confusions_ignore_out_of_scope_rows() -> None:
    assert per_intent(ROWS, PREDICTIONS) == {"track_order": [1, 1], "cancel_order": [1, 1], "get_refund": [0, 1]}
    assert confusions(ROWS, PREDICTIONS) == {("get_refund", "track_order"): 1}


def test_report_puts_systems_side_by_side_and_checks_targets_on_the_held_out_set() -> None:
    sets = {"dev_phrasings": ROWS, "test_heldout": ROWS}
    runs = [SystemRun("a", {"all": PREDICTIONS * 2}, [1.0, 2.0], "first"),
            SystemRun("b", {"all": [(gold, gold) for _, gold in ROWS] * 2}, [3.0], "perfect")]
    text, summary = report(sets, runs)
    assert "| dev_phrasings (3 / 2) | accuracy | 66.7% | 100.0% |" in text
    assert summary["confusions"]["a"] == [["get_refund", "track_order", 1]]
    assert summary["targets"]["b"]["met"] == {"accuracy": True, "every intent": True, "OOS": True, "kept": True}
    assert summary["targets"]["a"]["met"]["OOS"] is False
