"""Structure-aware chunking: chunks follow the document's sections, FAQ pairs stay whole, long sections are
split at sentence boundaries with a small overlap so no fact is cut off from its context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.documents import ParsedDocument, Section

MAX_CHARS = 900  # all-MiniLM-L6-v2 reads 256 word pieces; ~900 characters of English stays inside that
OVERLAP_CHARS = 150
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£])")


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage: `text` is shown to customers, `embedding_text` adds the title and headings."""

    text: str
    title: str
    heading_path: tuple[str, ...]
    faq_question: str | None = None
    faq_id: str | None = None

    @property
    def embedding_text(self) -> str:
        context = " > ".join((self.title, *self.heading_path))
        if self.faq_question:
            return f"{context}\nQ: {self.faq_question}\nA: {self.text}"
        return f"{context}\n{self.text}"


def split_sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def chunk_document(document: ParsedDocument, max_chars: int = MAX_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in document.sections:
        if section.is_faq:
            answer = "\n".join(section.blocks)
            chunks.append(Chunk(answer, document.title, section.heading_path, section.faq_question, section.faq_id))
            continue
        for text in _pack(section, max_chars, overlap):
            chunks.append(Chunk(text, document.title, section.heading_path))
    return _unique(chunks)


def _pack(section: Section, max_chars: int, overlap: int) -> list[str]:
    """Greedily pack a section's blocks (paragraphs, list items) into passages of at most max_chars; a block
    too long on its own is packed sentence by sentence, and each new passage repeats the previous one's tail."""
    pieces: list[tuple[int, str]] = []
    for number, block in enumerate(section.blocks):
        parts = [block] if len(block) <= max_chars else _split_long(block, max_chars)
        pieces.extend((number, part) for part in parts)
    passages: list[str] = []
    current: list[tuple[int, str]] = []
    for number, piece in pieces:
        if current and len(_join([*current, (number, piece)])) > max_chars:
            passages.append(_join(current))
            tail = _tail([text for _, text in current], overlap, max_chars - len(piece) - 1)
            current = [(current[-1][0], text) for text in tail]
        current.append((number, piece))
    if current:
        passages.append(_join(current))
    return passages


def _join(pieces: list[tuple[int, str]]) -> str:
    """Sentences of one block read as prose; different blocks (paragraphs, list items, rows) keep their lines."""
    text, previous = "", None
    for number, piece in pieces:
        text += piece if not text else (" " if number == previous else "\n") + piece
        previous = number
    return text


def _tail(pieces: list[str], overlap: int, room: int) -> list[str]:
    """The last sentences of the previous passage (at most `overlap` characters) to start the next one with."""
    limit = min(overlap, room)
    kept: list[str] = []
    for piece in reversed(pieces):
        for sentence in reversed(split_sentences(piece)):
            if len(" ".join([sentence, *kept])) > limit:
                return [" ".join(kept)] if kept else []
            kept.insert(0, sentence)
    return [" ".join(kept)] if kept else []


def _split_long(block: str, max_chars: int) -> list[str]:
    """A paragraph longer than max_chars: its sentences (packed again by the caller), run-on text by words."""
    parts: list[str] = []
    for sentence in split_sentences(block):
        if len(sentence) <= max_chars:
            parts.append(sentence)
            continue
        line = ""
        for word in sentence.split():
            if line and len(line) + 1 + len(word) > max_chars:
                parts.append(line)
                line = ""
            line = f"{line} {word}".strip() if len(word) <= max_chars else word[:max_chars]
        if line:
            parts.append(line)
    return parts


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    """Drop repeated passages within one document (same heading and text) so ids stay unique."""
    seen: set[str] = set()
    unique = []
    for chunk in chunks:
        if chunk.embedding_text not in seen:
            seen.add(chunk.embedding_text)
            unique.append(chunk)
    return unique
