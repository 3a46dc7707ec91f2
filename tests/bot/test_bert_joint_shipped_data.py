"""The shipped bot's NLU data through `rasa train nlu` + `rasa test nlu` on a held-out phrasing split (CI config).

Held-out = whole phrasing groups (rows differing only in entity values, numbers or case) never seen in training,
so the number reflects new wording, not memorised templates. The CI config trains for about a minute; the bar is
deliberately modest (the real model's numbers are in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "training_data" / "nlu"
CI_CONFIG = Path(__file__).parent / "data" / "bert_joint_ci_config.yml"
HELD_OUT_LIMIT = 300

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not (NLU_DIR / "generated" / "bitext.yml").exists(), reason="generated NLU data missing: run `make data` first"
)
def test_shipped_nlu_data_on_held_out_phrasings(tmp_path):
    import random

    from rasa.model_testing import test_nlu
    from rasa.model_training import train_nlu
    from rasa.shared.importers.rasa import RasaFileImporter
    from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.phrasing import phrasing_key, split_by_phrasing

    data = RasaFileImporter(training_data_paths=[str(NLU_DIR)]).get_nlu_data()
    examples = [m for m in data.intent_examples if m.get(TEXT)]
    keys = [phrasing_key(m.get(TEXT), m.get(ENTITIES, [])) for m in examples]
    train_ids, held_ids = split_by_phrasing(keys, [m.get(INTENT) for m in examples], 0.1, seed=5)
    held_ids = random.Random(5).sample(held_ids, min(HELD_OUT_LIMIT, len(held_ids)))
    RasaYAMLWriter().dump(tmp_path / "train.yml", TrainingData([examples[i] for i in train_ids]))
    RasaYAMLWriter().dump(tmp_path / "test.yml", TrainingData([examples[i] for i in held_ids]))

    archive = train_nlu(str(CI_CONFIG), str(tmp_path / "train.yml"), str(tmp_path / "models"))
    asyncio.run(test_nlu(archive, str(tmp_path / "test.yml"), str(tmp_path / "results"), {}))
    report = json.loads((tmp_path / "results" / "intent_report.json").read_text())
    assert report["accuracy"] >= 0.7, f"held-out intent accuracy {report['accuracy']:.2f}"
