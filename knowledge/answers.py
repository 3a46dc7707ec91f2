"""Turn the best passage into a short answer with its source, or an honest "not sure".

No generative model: the answer is sentences of the passage (knowledge.sentences), so everything the bot
says is written in the shop's own documents. A policy intent's topic (knowledge.topics) lifts the passages
of its pages by TOPIC_BOOST; whether to answer at all is decided by the calibrated confidence of
knowledge.abstention, compared with the relevance threshold (SHOPDESK_KNOWLEDGE_THRESHOLD).
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge import sentences
from knowledge.abstention import Support, support
from knowledge.lexical import tokenize
from knowledge.retrieval import Hit, Mode, Retriever, get_retriever, heading_text
from knowledge.settings import KnowledgeSettings
from knowledge.store import KnowledgeBaseUnavailable
from knowledge.topics import Topic

MAX_ANSWER_CHARS = sentences.MAX_CHARS
TOPIC_BOOST = 0.06  # added to the ranking score of a passage on the intent's pages
CANDIDATES = 8


@dataclass(frozen=True)
class Answer:
    """What the bot can say: `found` answers carry text and a source; others say why not."""

    found: bool
    text: str = ""
    title: str = ""
    url: str = ""
    relevance: float = 0.0  # the calibrated confidence compared with the threshold
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
    topic: Topic | None = None,
) -> Answer:
    """Search the knowledge base (boosting the topic's pages) and answer when confident enough."""
    retriever = retriever or get_retriever()
    threshold = retriever.settings.threshold if threshold is None else threshold
    try:
        hits = rank(question, retriever, topic)
        if not hits:
            return Answer(found=False)
        best = hits[0]
        confidence = confidence_of(question, best, retriever)
    except KnowledgeBaseUnavailable as error:
        return Answer(found=False, unavailable=str(error))
    if not confidence >= threshold:  # also false for NaN
        return Answer(found=False, relevance=confidence, hits=tuple(hits))
    text = concise(question, best.passage.text, retriever.settings, max_chars)
    return Answer(True, text, best.passage.title, best.passage.url, confidence, hits=tuple(hits))


def rank(question: str, retriever: Retriever, topic: Topic | None = None, mode: Mode = "hybrid") -> list[Hit]:
    """The best passages for the question, the topic's pages lifted by TOPIC_BOOST."""
    hits = retriever.search(question, k=CANDIDATES, mode=mode)
    if topic is None:
        return hits
    lifted = [(hit.score + (TOPIC_BOOST if topic.covers(hit.passage) else 0.0), index, hit)
              for index, hit in enumerate(hits)]
    return [hit for _, _, hit in sorted(lifted, key=lambda item: (-item[0], item[1]))]


def support_of(question: str, hit: Hit, retriever: Retriever) -> Support:
    snapshot = retriever.snapshot()
    passage_terms = set(tokenize(f"{hit.passage.text} {heading_text(hit.passage)}"))
    return support(question, passage_terms, snapshot.vocabulary, snapshot.ordered_vocabulary)


def confidence_of(question: str, hit: Hit, retriever: Retriever) -> float:
    """The calibrated confidence that `hit` answers `question` (knowledge.abstention)."""
    return support_of(question, hit, retriever).confidence(hit.relevance)


def concise(question: str, passage: str, settings: KnowledgeSettings, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """The passage's sentences that answer the question (the whole passage when it is one short answer)."""
    return sentences.select(question, passage, settings.model_dir, max_chars)
