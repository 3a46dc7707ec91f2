"""The CLINC150 out-of-scope split: training negatives, tuning halves and the test pool never share a topic."""

from __future__ import annotations

import pytest

from training import clinc

pytestmark = pytest.mark.skipif(not clinc.DEFAULT_CSV.is_file(), reason="CLINC150 data not available")


def test_tuning_halves_and_test_pool_are_disjoint_topics():
    _, _, train_intents, test_intents = clinc.load_negatives(clinc.DEFAULT_CSV)
    first, second = clinc.tuning_halves(clinc.DEFAULT_CSV)
    assert set(first) | set(second) == set(train_intents)
    assert not set(first) & set(second)
    assert not (set(first) | set(second)) & set(test_intents)
    assert not set(train_intents) & clinc.SHOP_DOMAIN_INTENTS


def test_tuning_negatives_never_include_the_dev_topics(tmp_path):
    out = tmp_path / "clinc_out_of_scope.yml"
    assert clinc.main(["--tuning", "--out", str(out)]) == 0
    written = out.read_text(encoding="utf-8")
    dev = clinc.dev_topics(clinc.DEFAULT_CSV, limit=10_000)
    assert dev and not any(f"    - {text}\n" in written for text in dev)
    assert written.count("\n    - ") == len(clinc.training_sample(clinc.DEFAULT_CSV))  # same size as shipped


def test_tuning_output_refuses_the_shipped_file():
    with pytest.raises(SystemExit):
        clinc.main(["--tuning"])
