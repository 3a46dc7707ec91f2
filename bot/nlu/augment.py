"""Typo augmentation: customers misspell, templates do not.

Perturbs words outside entity spans (entity values must stay exact so their labels stay right) and shifts the
entity offsets accordingly.
"""

from __future__ import annotations

import random
import re
from typing import Any

_WORD = re.compile(r"[A-Za-z]{4,}")


def _misspell(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    operation = rng.choice(("swap", "drop", "double", "neighbour"))
    if operation == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if operation == "drop":
        return word[:position] + word[position + 1 :]
    if operation == "double":
        return word[:position] + word[position] + word[position:]
    return word[:position] + rng.choice("aeiourstnl") + word[position + 1 :]


def add_typos(
    text: str, entities: list[dict[str, Any]], rng: random.Random, max_typos: int = 2
) -> tuple[str, list[dict[str, Any]]]:
    """Return (text, entities) with 1..max_typos misspelt words outside entity spans."""
    protected = [(e["start"], e["end"]) for e in entities]
    candidates = [
        m for m in _WORD.finditer(text) if all(m.end() <= start or m.start() >= end for start, end in protected)
    ]
    if not candidates:
        return text, entities
    chosen = sorted(rng.sample(candidates, min(len(candidates), rng.randint(1, max_typos))), key=lambda m: m.start())
    pieces, cursor, shifts = [], 0, []  # shifts: (position, delta) applied to offsets after position
    for match in chosen:
        new_word = _misspell(match.group(), rng)
        pieces += [text[cursor : match.start()], new_word]
        shifts.append((match.start(), len(new_word) - len(match.group())))
        cursor = match.end()
    pieces.append(text[cursor:])

    def shifted(offset: int) -> int:
        return offset + sum(delta for position, delta in shifts if position < offset)

    moved = [{**e, "start": shifted(e["start"]), "end": shifted(e["end"])} for e in entities]
    return "".join(pieces), moved

