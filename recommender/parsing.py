"""Turning the customer's words into request parameters: price limits and clean labels.

Entity values come from NLU and may be anything a customer typed; these helpers never raise, they return
None for what they cannot read.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"(\d+(?:[.,]\d{1,2})?)")
_NUMBER_WORDS = {"fiver": 5, "tenner": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
                 "forty": 40, "fifty": 50, "hundred": 100}
_LOWER_BOUND = re.compile(r"\b(over|above|more than|at least|from|min(imum)?|upwards of|starting at)\b")
_CAPPED = re.compile(r"\b(nothing|no|not|never)\s+(over|above|more than)\b")
MAX_PRICE = Decimal("100000")


def _numbers(text: str) -> list[Decimal]:
    found: list[Decimal] = []
    for raw in _NUMBER.findall(text):
        try:
            found.append(Decimal(raw.replace(",", ".")))
        except InvalidOperation:
            continue
    if not found:
        for word, value in _NUMBER_WORDS.items():
            if re.search(rf"\b{word}\b", text):
                found.append(Decimal(value))
                break
    return [n for n in found if 0 <= n <= MAX_PRICE]


def price_range(text: str | None) -> tuple[Decimal | None, Decimal | None]:
    """(min, max) from 'under £20', 'less than 20 quid', '£5-£10', 'between 5 and 10', 'over 15'."""
    if not text or not isinstance(text, str):
        return None, None
    lowered = text.lower()[:200]
    numbers = _numbers(lowered)
    if not numbers:
        return None, None
    if len(numbers) >= 2:
        low, high = sorted(numbers[:2])
        return low, high
    if _LOWER_BOUND.search(lowered) and not _CAPPED.search(lowered):
        return numbers[0], None
    return None, numbers[0]


def clean_label(text: str | None, limit: int = 40) -> str | None:
    """A short, plain label of the customer's words for a reason like "Matches 'gift'" (no markup survives)."""
    if not text or not isinstance(text, str):
        return None
    label = " ".join(re.findall(r"[A-Za-z0-9£][A-Za-z0-9£'\-]*", text))[:limit].strip(" '-")
    return label.lower() or None
