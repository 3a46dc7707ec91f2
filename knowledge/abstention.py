"""Should the bot answer from the best passage, or say it is not sure? A calibrated confidence, not a cosine.

Cosine similarity alone cannot tell "can I pay with PayPal?" from "can I pay in instalments with Klarna?":
both are about paying and both land near the payments page. What differs is the words the question hinges
on: "Klarna" and "instalments" appear nowhere in the shop's documents. So the confidence is

    cosine(question, passage) + COVERAGE x (share of the question's content words found in the passage)
                              - UNKNOWN  x (share of them the knowledge base has no word for at all)

Content words are the BM25 tokens (stemmed, stop words dropped) minus chat filler and function words
("hi", "please", "wondering", "how", "my"); a word that is a likely typo of a knowledge-base word
("retrun") counts as that word. The weights and the default threshold were chosen on
bench/data/kb_dev_questions.yml only (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from knowledge.lexical import tokenize

COVERAGE_WEIGHT = 0.15
UNKNOWN_WEIGHT = 0.25
_CHAT_WORDS = (
    "hi hello hey hiya please pls plz thanks thank cheers want need like know tell help question wondering wonder "
    "could would can get got really actually just also any anything something stuff thing things ok okay yes "
    "no guys mate u ur im morning afternoon evening quick quickly possible maybe lol"
)
_FUNCTION_WORDS = (
    "i me my mine you your yours we us our ours he him his she her it its they them their do does did done "
    "doing how much many what whats who whom when where which why have has had having after before still "
    "under over about from here there some more most very so too am been being up out off than should shall "
    "may might must let lets s t d ll m re ve dont cant wont isnt"
)
_FILLER = f"{_CHAT_WORDS} {_FUNCTION_WORDS}"
CHAT_TERMS = frozenset(tokenize(_FILLER)) | frozenset(_FILLER.split())
_MIN_FUZZY_LENGTH = 4
_FUZZY_CUTOFF = 0.8


@dataclass(frozen=True)
class Support:
    """How well one passage covers a question's content words."""

    terms: tuple[str, ...]  # the question's content words, typos mapped to knowledge-base words
    covered: float  # share of them in the passage (its text and headings)
    unknown: float  # share of them the knowledge base has no word for

    def confidence(self, cosine: float) -> float:
        return cosine + COVERAGE_WEIGHT * self.covered - UNKNOWN_WEIGHT * self.unknown


def question_terms(
    question: str, vocabulary: Collection[str], ordered: tuple[str, ...]
) -> tuple[tuple[str, bool], ...]:
    """(term, known to the knowledge base) for each content word of the question, typos mapped."""
    result = []
    for term in dict.fromkeys(tokenize(question)):
        if term in CHAT_TERMS:
            continue
        if term in vocabulary:
            result.append((term, True))
            continue
        match = _close_match(term, ordered)
        result.append((match or term, match is not None))
    return tuple(result)


def support(question: str, passage_terms: Collection[str], vocabulary: Collection[str],
            ordered: tuple[str, ...]) -> Support:
    """The question's coverage by a passage; a question with no content words is neither covered nor unknown."""
    terms = question_terms(question, vocabulary, ordered)
    if not terms:
        return Support((), 0.0, 0.0)
    covered = sum(1 for term, _ in terms if term in passage_terms) / len(terms)
    unknown = sum(1 for _, known in terms if not known) / len(terms)
    return Support(tuple(term for term, _ in terms), covered, unknown)


@lru_cache(maxsize=4096)
def _close_match(term: str, ordered: tuple[str, ...]) -> str | None:
    if len(term) < _MIN_FUZZY_LENGTH:
        return None
    nearby = [word for word in ordered if abs(len(word) - len(term)) <= 2]
    matches = difflib.get_close_matches(term, nearby, n=1, cutoff=_FUZZY_CUTOFF)
    return matches[0] if matches else None
