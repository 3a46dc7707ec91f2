"""The hand-written NLU data of issue 17 and its dev sets: well-formed, covering every intent, and kept apart.

The dev sets only measure generalisation while no training sentence equals or nearly equals one of them, and
the test sets only while the widened phrasings stay away from them too; both are checked with the rule
bench/data/README.md states (normalised equality or difflib ratio >= 0.85).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.nlu_sets import (
    DEV_SETS,
    NLU,
    ROOT,
    TEST_SETS,
    WIDENED,
    bitext_rows,
    near_duplicates,
    normalise,
    read_eval_set,
    training_rows,
)
from training.rasa_yaml import nlu_examples, yaml_files

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
INTENTS = set(DOMAIN["intents"])
ENTITIES = set(DOMAIN["entities"])
NEW_DEV_SETS = ("dev_customer_wording", "dev_conversation_turns")
MARKUP = re.compile(r"\[(?P<value>[^\]]+)\]\((?P<entity>[^)]+)\)")
MIN_PER_INTENT = {"share_image": 10, "invalid_input": 15}  # set by the widget / the input guard, rarely typed


def widened_examples() -> list[tuple[str, str, Path]]:
    out = []
    for path in yaml_files(WIDENED):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data.get("version") == "3.1", path
        out += [(intent, example, path) for intent, example in nlu_examples(data)]
    return out


def test_widened_files_use_domain_intents_and_entities_with_well_formed_markup() -> None:
    examples = widened_examples()
    assert examples
    for intent, example, path in examples:
        assert intent in INTENTS, (path.name, intent)
        for match in MARKUP.finditer(example):
            assert match["entity"] in ENTITIES, (path.name, example)
            assert match["value"] == match["value"].strip(), (path.name, example)
        leftover = MARKUP.sub("", example)
        assert not set("[]") & set(leftover), (path.name, example)


def test_every_intent_gets_widened_phrasings() -> None:
    counts = Counter(intent for intent, _, _ in widened_examples())
    for intent in INTENTS:
        assert counts[intent] >= MIN_PER_INTENT.get(intent, 30), (intent, counts[intent])


def test_no_example_is_repeated_or_given_two_intents() -> None:
    hand_written = [(intent, example) for intent, example, _ in widened_examples()]
    seen: dict[str, str] = {}
    for intent, text in training_rows(NLU, exclude=[WIDENED, NLU / "generated"]):
        seen.setdefault(text.lower().strip(), intent)
    repeated = Counter(example.lower().strip() for _, example in hand_written)
    assert [e for e, n in repeated.items() if n > 1] == []
    conflicts = [(e, i, seen[key]) for i, e in hand_written if (key := e.lower().strip()) in seen and seen[key] != i]
    assert conflicts == []


@pytest.mark.parametrize("name", NEW_DEV_SETS)
def test_dev_sets_are_sizable_plain_text_over_domain_intents(name: str) -> None:
    rows = read_eval_set(DEV_SETS[name])
    assert len(rows) >= 300
    intents = Counter(intent for _, intent in rows)
    assert set(intents) <= INTENTS
    assert intents["out_of_scope"] >= 25
    assert len(intents) >= 30
    assert not [text for text, _ in rows if MARKUP.search(text)]
    assert len({normalise(text) for text, _ in rows}) == len(rows)


def test_new_dev_sets_are_disjoint_from_the_training_data_and_the_other_bench_sets() -> None:
    training = [text for text, _ in training_rows(NLU)] + [text for text, _ in bitext_rows()]
    others = [text for path in [*TEST_SETS.values(), DEV_SETS["dev_phrasings"]] for text, _ in read_eval_set(path)]
    for name in NEW_DEV_SETS:
        queries = [text for text, _ in read_eval_set(DEV_SETS[name])]
        assert near_duplicates(queries, training) == [], name
        assert near_duplicates(queries, others) == [], name


def test_widened_training_data_stays_away_from_every_dev_and_test_set() -> None:
    widened = [text for text, _ in training_rows(WIDENED)]
    for path in [*DEV_SETS.values(), *TEST_SETS.values()]:
        assert near_duplicates([text for text, _ in read_eval_set(path)], widened) == [], path.name


def test_near_duplicates_uses_the_readme_rule() -> None:
    corpus = ["where is my parcel", "cancel my order please"]
    assert near_duplicates(["Where is my parcel??"], corpus) == [("Where is my parcel??", "where is my parcel", 1.0)]
    assert near_duplicates(["where's my parcel"], corpus)[0][1] == "where is my parcel"  # ratio 0.94
    assert near_duplicates(["order 581163 where is it"], ["order 536365 where is it"])  # numbers don't count
    assert near_duplicates(["how do i reset my password"], corpus) == []
