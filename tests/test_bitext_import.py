"""The Bitext import: entity spans kept, order numbers in the shop's format, deterministic for a seed."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from training.bitext import read_examples
from training.rasa_yaml import plain_text

COLUMNS = ["instruction", "intent", "entity_type", "entity_value", "start_offset", "end_offset"]


def write_csv(path: Path, rows: list[tuple[str, str, str, int | None, int | None]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for text, intent, entity, start, end in rows:
            writer.writerow({"instruction": text, "intent": intent, "entity_type": entity, "entity_value": "",
                             "start_offset": "" if start is None else start, "end_offset": "" if end is None else end})
    return path


def test_order_numbers_become_shop_numbers_and_other_spans_stay(tmp_path: Path) -> None:
    rows = [
        ("cancel order 370795561790 please", "cancel_order", "order_id", 13, 25),
        ("where is purchase 00123842?", "track_order", "order_id", 18, 26),
        ("I want a refund of 1499 dollars", "get_refund", "refund_amount", 19, 23),
        ("help me with order732201349959", "track_order", "order_id", 18, 30),  # span inside a word: dropped
        ("how do I get an invoice", "get_invoice", "", None, None),
    ]
    source = write_csv(tmp_path / "bitext.csv", rows)
    examples = read_examples(source, seed=3)

    cancel, track = examples["cancel_order"][0], examples["track_order"][0]
    for example, prefix in ((cancel, "cancel order "), (track, "where is purchase ")):
        match = re.fullmatch(re.escape(prefix) + r"\[(C?\d{6})\]\(order_id\).*", example)
        assert match, example
        assert 536365 <= int(match.group(1).lstrip("C")) <= 581587
    assert examples["get_refund"] == ["I want a refund of [1499](refund_amount) dollars"]
    assert examples["track_order"][1] == "help me with order732201349959"
    assert examples["get_invoice"] == ["how do I get an invoice"]
    assert plain_text(cancel).endswith(" please")
    assert read_examples(source, seed=3) == examples
