"""Knowledge-base passages that may answer the customer's latest question, for the agent to reuse.

The knowledge base (knowledge/, Chroma + sentence-transformers) is loaded lazily in the console process on
the first request that asks for suggestions, so the console starts fast and still works without it.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)
MIN_RELEVANCE = 0.3


def suggestions(question: str, k: int = 3) -> tuple[list[dict[str, Any]], str]:
    """(passages, problem): passages best first; problem explains an empty list when the base is unusable."""
    question = " ".join((question or "").split())[:500]
    if not question:
        return [], ""
    try:
        from knowledge.retrieval import get_retriever

        hits = get_retriever().search(question, k=k)
    except Exception as exc:  # no knowledge base ingested, Chroma down, package missing...
        logger.info("No knowledge-base suggestions: %s", exc)
        return [], "The knowledge base is not available."
    results = []
    for hit in hits:
        if hit.relevance == hit.relevance and hit.relevance < MIN_RELEVANCE:  # NaN-safe
            continue
        passage = hit.passage
        results.append({"title": passage.title or passage.faq_question or "Passage", "text": passage.text[:1200],
                        "source": passage.url or passage.source, "relevance": round(float(hit.relevance), 3)})
    return results, ""
