"""Word-piece <-> character-offset alignment for BIO entity tagging.

The encoder sees word pieces, Rasa speaks character offsets. Everything that crosses that border lives here so
the training labels and the decoded entities use exactly the same rules (punctuation, emoji, accents, windows
over texts longer than the encoder's maximum length).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

OUTSIDE = "O"
IGNORED_LABEL = -100  # label id that torch's cross-entropy skips (special and padding tokens)


def tag_names_for(entity_types: Sequence[str]) -> list[str]:
    """BIO tag vocabulary: O first, then B-/I- per entity type (sorted, so it is stable across runs)."""
    names = [OUTSIDE]
    for entity_type in sorted(set(entity_types)):
        names += [f"B-{entity_type}", f"I-{entity_type}"]
    return names


def is_special(offset: tuple[int, int]) -> bool:
    """Fast tokenizers give special tokens ([CLS], [SEP], padding) the empty span (0, 0)."""
    return offset[0] == offset[1]


def bio_labels(
    offsets: Sequence[tuple[int, int]], entities: Sequence[dict[str, Any]], tag_index: dict[str, int]
) -> list[int]:
    """Tag ids per word piece: B- on the first piece overlapping an entity span, I- on the rest, O elsewhere.

    Entities whose type is not in the tag vocabulary are ignored (labelled O) rather than failing.
    """
    labels: list[int] = []
    started: set[int] = set()
    for offset in offsets:
        if is_special(offset):
            labels.append(IGNORED_LABEL)
            continue
        start, end = offset
        label = tag_index[OUTSIDE]
        for number, entity in enumerate(entities):
            if start < entity["end"] and end > entity["start"] and f"B-{entity['entity']}" in tag_index:
                prefix = "I" if number in started else "B"
                started.add(number)
                label = tag_index[f"{prefix}-{entity['entity']}"]
                break
        labels.append(label)
    return labels


@dataclass
class TokenTag:
    """One word piece's predicted tag, with the character span it covers."""

    start: int
    end: int
    tag: str
    confidence: float


def merge_windows(windows: Sequence[Sequence[TokenTag]]) -> list[TokenTag]:
    """Combine predictions of overlapping windows over one long text: per span keep the most confident one."""
    best: dict[tuple[int, int], TokenTag] = {}
    for window in windows:
        for token in window:
            key = (token.start, token.end)
            if key not in best or token.confidence > best[key].confidence:
                best[key] = token
    return [best[key] for key in sorted(best)]


def _same_kind(a: str, b: str) -> bool:
    """Both letters or both digits: `order113542` is the word `order` glued to the id `113542`."""
    return (a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())


def _expand_to_word(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a span over the rest of its letter or digit run, so a mis-tagged word piece (`##45`) is not cut off."""
    while start > 0 and _same_kind(text[start - 1], text[start]):
        start -= 1
    while end < len(text) and _same_kind(text[end], text[end - 1]):
        end += 1
    return start, end


def decode_entities(text: str, tokens: Sequence[TokenTag]) -> list[dict[str, Any]]:
    """Turn per-piece BIO tags into Rasa entity dicts (start, end, value, entity, confidence_entity).

    A stray I- tag starts an entity (lenient BIO); the confidence is the mean of the pieces' tag probabilities.
    """
    entities: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    scores: list[float] = []

    def close() -> None:
        nonlocal current, scores
        if current is not None:
            start, end = _expand_to_word(text, current["start"], current["end"])
            entities.append(
                {
                    "entity": current["entity"],
                    "start": start,
                    "end": end,
                    "value": text[start:end],
                    "confidence_entity": float(sum(scores) / len(scores)),
                }
            )
        current, scores = None, []

    for token in tokens:
        if token.tag == OUTSIDE:
            close()
            continue
        prefix, entity_type = token.tag.split("-", 1)
        if prefix == "B" or current is None or current["entity"] != entity_type:
            close()
            current = {"entity": entity_type, "start": token.start, "end": token.end}
        else:
            current["end"] = token.end
        scores.append(token.confidence)
    close()
    return _drop_overlaps(entities)


def _drop_overlaps(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Word expansion can make neighbours overlap; keep the more confident one."""
    kept: list[dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: -e["confidence_entity"]):
        if all(entity["end"] <= other["start"] or entity["start"] >= other["end"] for other in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e["start"])


_ASCII_DIGIT = re.compile(r"[0-9]")


def mask_digits(text: str) -> str:
    """Every ASCII digit as `0`. Same length, so character offsets still fit the original text.

    Word pieces of numbers differ from number to number, and the encoder tied intents to the few numbers in
    its training data (`where is order 581147` → `inform`, `… 581146` → `track_order`). The shape of a
    number (six digits, a `C` in front) is what carries meaning for a shop, and that stays.
    """
    return _ASCII_DIGIT.sub("0", text)
