"""Turn the best passage into a short answer with its source, or an honest "not sure".

No generative model: the answer is the passage itself, trimmed to the sentences closest to the question
when it is long, so everything the bot says is written in the shop's own documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from knowledge.chunking import split_sentences
from knowledge.embeddings import encode
from knowledge.retrieval import Hit, Retriever, get_retriever
from knowledge.settings import KnowledgeSettings
from knowledge.store import KnowledgeBaseUnavailable

MAX_ANSWER_CHARS = 420
_TABLE_ROW = re.compile(r"^.+\|.+$")


@dataclass(frozen=True)
class Answer:
    """What the bot can say: `found` answers carry text and a source; others say why not."""

    found: bool
    text: str = ""
    title: str = ""
    url: str = ""
    relevance: float = 0.0
    unavailable: str = ""  # set when the knowledge base itself cannot be used
    hits: tuple[Hit, ...] = ()

    @property
    def citation(self) -> str:
        return f"Source: {self.title}" + (f" ({self.url})" if self.url else "")


def answer_question(
    question: str,
    retriever: Retriever | None = None,
    threshold: float | None = None,
    max_chars: int = MAX_ANSWER_CHARS,
) -> Answer:
    """Search the knowledge base and answer from the best passage when it is relevant enough."""
    retriever = retriever or get_retriever()
    threshold = retriever.settings.threshold if threshold is None else threshold
    try:
        hits = retriever.search(question, k=3)
    except KnowledgeBaseUnavailable as error:
        return Answer(found=False, unavailable=str(error))
    if not hits:
        return Answer(found=False)
    best = hits[0]
    if not best.relevance >= threshold:  # also false for NaN
        return Answer(found=False, relevance=best.relevance, hits=tuple(hits))
    text = concise(question, best.passage.text, retriever.settings, max_chars)
    return Answer(True, text, best.passage.title, best.passage.url, best.relevance, hits=tuple(hits))


def concise(question: str, passage: str, settings: KnowledgeSettings, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """The passage when short; otherwise its sentences most similar to the question, in document order."""
    if len(passage) <= max_chars:
        return passage
    units = [(number, unit) for number, line in enumerate(passage.splitlines()) for unit in _units(line)]
    vectors = encode(settings.model_dir, [question, *(unit for _, unit in units)])
    similarity = vectors[1:] @ vectors[0]
    chosen: list[int] = []
    length = 0
    for index in np.argsort(-similarity):
        size = len(units[index][1]) + 1
        if chosen and length + size > max_chars:
            continue
        chosen.append(int(index))
        length += size
    text, previous_line = "", None
    for index in sorted(chosen):
        number, unit = units[index]
        text += (" " if number == previous_line else "\n") + unit if text else unit
        previous_line = number
    return text


def _units(line: str) -> list[str]:
    """A table row or list item is one unit; prose splits into sentences."""
    line = line.strip()
    if not line:
        return []
    if _TABLE_ROW.match(line) or line.startswith("- "):
        return [line]
    return split_sentences(line)
