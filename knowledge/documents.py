"""What a parsed document looks like, whatever its file format."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path (or one FAQ question/answer pair, which is never split)."""

    heading_path: tuple[str, ...]
    blocks: tuple[str, ...]
    faq_question: str | None = None
    faq_id: str | None = None

    @property
    def is_faq(self) -> bool:
        return self.faq_question is not None


@dataclass(frozen=True)
class ParsedDocument:
    """A document's title, optional public link, last update and its sections in reading order."""

    title: str
    sections: tuple[Section, ...]
    url: str | None = None
    updated: str | None = None
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(block.strip() for section in self.sections for block in section.blocks)


class DocumentError(ValueError):
    """A file that cannot be ingested; the message says why in words a shop owner understands."""
