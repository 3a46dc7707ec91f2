"""Remove personal data from customer messages before they leave the review tool (UI, exports, stories).

Emails, phone numbers, payment card numbers (Luhn-checked, so order and invoice numbers stay) and street
addresses / postcodes are replaced by fixed, obviously fake values of the same shape. Keeping the shape
matters: the exported examples still teach the NLU what an email or an address looks like, and an entity
span can still cover the replacement. Order ids are entities the bot needs and are not personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = "email"
PHONE = "phone"
CARD = "card"
ADDRESS = "address"
POSTCODE = "postcode"

REPLACEMENTS = {
    EMAIL: "customer@example.com",
    PHONE: "+44 0000 000000",
    CARD: "0000 0000 0000 0000",
    ADDRESS: "1 Example Street",
    POSTCODE: "AA0 0AA",
}

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# 13-19 digits, optionally grouped by single spaces or dashes (4-4-4-4, 4-6-5, ...).
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# International or national numbers with at least 9 digits; a 6-digit order number never matches.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().-]{7,}\d(?![\w])")
# Capitalised street names take any suffix; lower-case ones only an unambiguous one ("2 items on the way").
_ANY_SUFFIX = (r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|boulevard|blvd|court|ct|place|pl|"
               r"terrace|crescent|square|sq|gardens|grove|mews|parkway|row|walk|hill")
_STRONG_SUFFIX = r"street|road|rd|avenue|ave|lane|drive|boulevard|blvd|terrace|crescent|gardens|mews|parkway"
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:(?:[A-Z][A-Za-z'’-]*\s+){{1,4}}(?i:{_ANY_SUFFIX})"
    rf"|(?i:(?:[a-z][a-z'’-]*\s+){{1,3}}(?:{_STRONG_SUFFIX})))\b\.?")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Replacement:
    kind: str
    start: int  # in the original text
    end: int
    new_start: int  # in the redacted text
    new_end: int


@dataclass(frozen=True)
class Redacted:
    text: str
    replacements: tuple[Replacement, ...]

    @property
    def kinds(self) -> list[str]:
        return sorted({r.kind for r in self.replacements})

    def map_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Where an original character span lies in the redacted text; None if it was partly replaced."""
        shift = 0
        for r in self.replacements:
            if end <= r.start:
                break
            if start >= r.end:
                shift = r.new_end - r.end
                continue
            if start == r.start and end == r.end:  # the whole span was redacted: it covers the replacement
                return r.new_start, r.new_end
            return None
        return start + shift, end + shift


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _find(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind), most specific kinds first."""
    found: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for m in _EMAIL.finditer(text):
        found.append((m.start(), m.end(), EMAIL))
    for m in _CARD.finditer(text):
        if free(m.start(), m.end()) and luhn_valid(_digits(m.group())):
            found.append((m.start(), m.end(), CARD))
    for m in _ADDRESS.finditer(text):
        if free(m.start(), m.end()):
            found.append((m.start(), m.end(), ADDRESS))
    for m in _UK_POSTCODE.finditer(text):
        if free(m.start(), m.end()) and any(ch.isdigit() for ch in m.group()) and any(
                ch.isalpha() for ch in m.group()[-2:]):
            found.append((m.start(), m.end(), POSTCODE))
    for m in _PHONE.finditer(text):
        start, end = m.start(), m.end()
        if free(start, end) and 9 <= len(_digits(m.group())) <= 15:
            found.append((start, end, PHONE))
    return sorted(found)


def redact(text: str) -> Redacted:
    """The text with personal data replaced, and where each replacement went."""
    out: list[str] = []
    replacements: list[Replacement] = []
    cursor, length = 0, 0
    for start, end, kind in _find(text):
        out.append(text[cursor:start])
        length += start - cursor
        value = REPLACEMENTS[kind]
        replacements.append(Replacement(kind, start, end, length, length + len(value)))
        out.append(value)
        length += len(value)
        cursor = end
    out.append(text[cursor:])
    return Redacted("".join(out), tuple(replacements))


def redact_text(text: str) -> str:
    return redact(text).text
