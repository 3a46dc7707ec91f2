"""Pick the sentences of a passage that answer the question asked, not the whole section.

"Do you deliver on Saturdays?" matched against a delivery section should get the Saturday sentence, not
the carrier's price table. Each unit (a sentence, a list item, a table row written out as
"Norway, Switzerland, Iceland: 14.95") is scored by its cosine similarity to the question plus a bonus
for the question's content words it contains; the best unit and any close runner-ups are kept (at most
MAX_UNITS), a sentence that leans on the one before it ("It", "This"...) brings that one along, and the
result reads in document order; a section's first sentence gets a small lift, since help pages open with the
direct answer. Short passages (an FAQ answer) are already the answer and are kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from knowledge.chunking import split_sentences
from knowledge.embeddings import encode
from knowledge.lexical import tokenize

MAX_CHARS = 420
SHORT_CHARS = 240  # a passage this short is one answer: keep it whole
MAX_UNITS = 3
MARGIN = 0.1  # keep a runner-up scoring within this of the best unit
WORD_BONUS = 0.3  # x share of the question's content words in the unit
LEAD_BONUS = 0.05  # help pages open a section with its direct answer
_LEANS_BACK = re.compile(r"^(It|Its|This|That|These|Those|They|Then|There|Once|Otherwise|So)\b")


@dataclass(frozen=True)
class Unit:
    line: int
    text: str
    lead: int | None = None  # for a table row: the unit introducing the table, which gives the row context


def units_of(passage: str) -> list[Unit]:
    """Sentences, list items and table rows (a header row is dropped; its cells name the columns only)."""
    units: list[Unit] = []
    previous_was_row = False
    for number, raw in enumerate(passage.splitlines()):
        line = raw.strip()
        if not line:
            previous_was_row = False
            continue
        if "|" in line:
            if previous_was_row:
                lead = next((i for i in range(len(units) - 1, -1, -1) if units[i].lead is None), None)
                units.append(Unit(number, _row_text(line), lead))
            previous_was_row = True  # the first row of a table is its header
            continue
        previous_was_row = False
        if line.startswith("- "):
            units.append(Unit(number, line))
        else:
            units.extend(Unit(number, sentence) for sentence in split_sentences(line))
    return units


def select(question: str, passage: str, model_dir: str, max_chars: int = MAX_CHARS) -> str:
    """The passage's sentences that answer `question`, in document order."""
    units = units_of(passage)
    if not units:
        return passage.strip()
    has_table = any("|" in line for line in passage.splitlines())
    if len(passage) <= min(SHORT_CHARS, max_chars) and not has_table:
        return passage.strip()
    vectors = encode(model_dir, [question, *(unit.text for unit in units)])
    terms = set(tokenize(question))
    score = vectors[1:] @ vectors[0]
    score[0] += LEAD_BONUS
    if terms:
        score = score + WORD_BONUS * np.array([len(terms & set(tokenize(u.text))) / len(terms) for u in units])
    order = [int(index) for index in np.argsort(-score, kind="stable")]
    chosen: list[int] = []
    length = 0
    for index in order:
        if chosen and (len(chosen) >= MAX_UNITS or score[index] < score[order[0]] - MARGIN):
            break
        for part in _with_antecedent(units, index):
            if part not in chosen and (not chosen or length + len(units[part].text) + 1 <= max_chars):
                chosen.append(part)
                length += len(units[part].text) + 1
    return _join([units[index] for index in sorted(chosen)])


def _with_antecedent(units: list[Unit], index: int) -> list[int]:
    """The unit, preceded by the sentence it leans on when it opens with a pronoun or a connective (or, for
    a table row, by the sentence introducing the table)."""
    if units[index].lead is not None:
        return [units[index].lead, index]
    if index > 0 and _LEANS_BACK.match(units[index].text) and units[index - 1].line == units[index].line:
        return [index - 1, index]
    return [index]


def _row_text(line: str) -> str:
    cells = [cell.strip() for cell in line.strip("|").split("|") if cell.strip()]
    if len(cells) < 2:
        return " ".join(cells)
    return f"{cells[0]}: {', '.join(cells[1:])}"


def _join(units: list[Unit]) -> str:
    text, previous = "", None
    for unit in units:
        text += unit.text if not text else (" " if unit.line == previous else "\n") + unit.text
        previous = unit.line
    return text
