"""The NLU evaluation sets and the training sentences, as plain (text, intent) rows, plus the leak check.

Pure Python (no Rasa, no torch), so the app env, the tests and bench/nlu_proxy.py share one reading of the
files. The leak check is the rule bench/data/README.md states: no evaluation message equals (lower-cased,
punctuation stripped, digits collapsed) or has a difflib ratio >= 0.85 with any training sentence.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from pathlib import Path

import yaml

from training.rasa_yaml import nlu_examples, plain_text, yaml_files

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "training_data"
NLU = TRAINING / "nlu"
GENERATED = NLU / "generated"
WIDENED = NLU / "widened"  # the phrasings added for issue 17: the "new" side of the proxy comparison
BITEXT_CSV = ROOT.parent / "shared" / "data" / "bitext" / "customer_support_intents.csv"
BENCH_DATA = ROOT / "bench" / "data"
# Tuning sets: measure and tune on these as often as needed.
DEV_SETS = {
    "dev_phrasings": BENCH_DATA / "dev_phrasings.yml",
    "dev_customer_wording": BENCH_DATA / "dev_customer_wording.yml",
    "dev_conversation_turns": BENCH_DATA / "dev_conversation_turns.yml",
}
# Test sets: read for final measurements only, never to pick data or settings.
TEST_SETS = {
    "test_heldout": BENCH_DATA / "heldout_phrasings.csv",
    "test_shop_paraphrases": BENCH_DATA / "shop_paraphrases_test.yml",
}
NEAR_DUPLICATE = 0.85

Row = tuple[str, str]  # (plain text, intent)


def read_eval_set(path: Path) -> list[Row]:
    """A bench/data set: YAML `intent -> [messages]` or CSV `text,intent`."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [(row["text"], row["intent"]) for row in csv.DictReader(handle)]
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [(str(text), str(intent)) for intent, texts in data.items() for text in texts or []]


def training_rows(directory: Path = NLU, exclude: Iterable[Path] = ()) -> list[Row]:
    """(plain text, intent) of every NLU example under `directory`, except files under `exclude`."""
    skipped = [p.resolve() for p in exclude]
    rows = []
    for path in yaml_files(directory):
        if any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows += [(plain_text(example), intent) for intent, example in nlu_examples(data)]
    return rows


def bitext_rows(path: Path = BITEXT_CSV) -> list[Row]:
    """The Bitext instructions themselves (the generated file only swaps order numbers, see training.bitext)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["instruction"], row["intent"]) for row in csv.DictReader(handle)]


_NON_WORD = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Lower case, digits collapsed to `#`, punctuation and spacing removed: what counts as 'the same message'."""
    return " ".join(_NON_WORD.sub(" ", _DIGITS.sub("#", text.lower())).split())


def near_duplicates(
    queries: Sequence[str], corpus: Iterable[str], threshold: float = NEAR_DUPLICATE
) -> list[tuple[str, str, float]]:
    """(query, corpus sentence, ratio) for every query with a corpus sentence at difflib ratio >= threshold.

    Only lengths that can reach the threshold are compared (ratio <= 2*min/(a+b)), then difflib's cheap upper
    bounds prune before the real ratio: thousands x thousands of sentences in seconds.
    """
    by_length: dict[int, list[str]] = defaultdict(list)
    for sentence in {normalise(s) for s in corpus}:
        by_length[len(sentence)].append(sentence)
    found = []
    for query in queries:
        target = normalise(query)
        if not target:
            continue
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(target)
        low = int(len(target) * threshold / (2 - threshold))
        high = int(len(target) * (2 - threshold) / threshold) + 1
        best: tuple[str, float] | None = None
        for length in range(low, high + 1):
            for sentence in by_length.get(length, ()):
                matcher.set_seq1(sentence)
                if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                    continue
                ratio = matcher.ratio()
                if ratio >= threshold and (best is None or ratio > best[1]):
                    best = (sentence, ratio)
        if best:
            found.append((query, best[0], round(best[1], 3)))
    return found
