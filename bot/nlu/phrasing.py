"""Group utterances by phrasing so that validation and test splits hold out whole phrasings.

Template-generated data (Bitext) repeats one sentence with another order id, name or case; a random split
puts copies of the same sentence on both sides and measures memorisation. Rows that differ only in entity
values, numbers or case share a phrasing key and must stay on one side of a split.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w<>]+")


def phrasing_key(text: str, entities: Sequence[dict[str, Any]] = ()) -> str:
    """Lower-cased text with entity values replaced by their type and numbers by `#`, punctuation collapsed."""
    pieces: list[str] = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        if entity["start"] < cursor:
            continue
        pieces += [text[cursor : entity["start"]], f" <{entity['entity']}> "]
        cursor = entity["end"]
    pieces.append(text[cursor:])
    key = _DIGITS.sub("#", "".join(pieces).lower())
    return " ".join(_NON_WORD.sub(" ", key).split())


def split_by_phrasing(
    keys: Sequence[str], labels: Sequence[str], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices (train, held_out): per label about `fraction` of its phrasing groups go to the held-out side.

    A label with a single phrasing group stays entirely in training, so every label can still be learnt.
    """
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, (key, label) in enumerate(zip(keys, labels, strict=True)):
        groups[label][key].append(index)
    rng = random.Random(seed)
    train, held_out = [], []
    for label in sorted(groups):
        members = [groups[label][key] for key in sorted(groups[label])]
        rng.shuffle(members)
        count = round(len(members) * fraction) if len(members) > 1 else 0
        count = min(count, len(members) - 1)
        for position, indices in enumerate(members):
            (held_out if position < count else train).extend(indices)
    return sorted(train), sorted(held_out)
