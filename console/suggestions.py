"""Knowledge-base passages that may answer the customer's question, for the agent to reuse.

Relevance is judged as the bot judges it before answering from the documents (knowledge.answers: the
calibrated confidence against SHOPDESK_KNOWLEDGE_THRESHOLD), so an agent is not offered passages the bot
itself would consider off-topic; one passage per page. The question is the customer's latest message that
asks something: "hi" or "can I talk to a person" say nothing the documents could answer.

The knowledge base (knowledge/, Chroma + sentence-transformers) is loaded lazily in the console process on
the first request that asks for suggestions, so the console starts fast and still works without it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.handoff_triggers import REQUEST_INTENTS

logger = logging.getLogger(__name__)
# Messages that carry no question for the documents (the intents are the domain's).
NO_QUESTION_INTENTS = REQUEST_INTENTS | {"greet", "goodbye", "affirm", "deny", "thanks", "bot_challenge", "stop",
                                         "inform", "invalid_input", "share_image"}
MIN_WORDS = 3


def question_from(items: Sequence[dict[str, Any]]) -> str:
    """The latest customer message in the transcript worth searching the documents for ('' if none)."""
    customer = [i for i in items if i.get("kind") == "customer" and str(i.get("text") or "").strip()]
    for item in reversed(customer):
        if item.get("intent") not in NO_QUESTION_INTENTS and len(str(item["text"]).split()) >= MIN_WORDS:
            return str(item["text"])
    return ""


def suggestions(question: str, k: int = 3) -> tuple[list[dict[str, Any]], str]:
    """(passages, problem): passages best first; problem explains an empty list when the base is unusable."""
    question = " ".join((question or "").split())[:500]
    if not question:
        return [], ""
    try:
        from knowledge.answers import confidence_of, rank
        from knowledge.retrieval import get_retriever

        retriever = get_retriever()
        threshold = retriever.settings.threshold
        scored = [(hit, confidence_of(question, hit, retriever)) for hit in rank(question, retriever)]
    except Exception as exc:  # no knowledge base ingested, Chroma down, package missing...
        logger.info("No knowledge-base suggestions: %s", exc)
        return [], "The knowledge base is not available."
    results: list[dict[str, Any]] = []
    pages: set[str] = set()
    for hit, confidence in scored:
        passage = hit.passage
        page = passage.url or passage.source
        if not confidence >= threshold or page in pages:  # NaN-safe
            continue
        pages.add(page)
        results.append({"title": passage.title or passage.faq_question or "Passage", "text": passage.text[:1200],
                        "source": page, "relevance": round(float(confidence), 3)})
        if len(results) == k:
            break
    return results, ""
