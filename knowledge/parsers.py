"""Turn Markdown, HTML, plain text, PDF and FAQ (CSV/JSON) files into ParsedDocuments.

Each parser keeps the document's structure (headings, FAQ pairs) because chunks that follow the author's
sections retrieve better and can be cited precisely. Every failure is a DocumentError with a plain message.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.documents import DocumentError, ParsedDocument, Section

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_WHITESPACE = re.compile(r"[ \t\r\f\v]+")


def humanize_stem(path: Path) -> str:
    """'returns-and_refunds.md' -> 'Returns and refunds' (title of last resort)."""
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    if not words:
        return path.name
    return words if words.upper() == words else words[0].upper() + words[1:]


def clean(text: str) -> str:
    return "\n".join(_WHITESPACE.sub(" ", line).strip() for line in text.splitlines()).strip()


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 text or a DocumentError: binary files and other encodings are refused, not mangled."""
    if b"\x00" in data[:8192]:
        raise DocumentError("looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"is not UTF-8 text (byte {error.start}); save it as UTF-8") from error


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """`---`-fenced `key: value` lines at the top of a Markdown file (title, url, updated)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end() :]


# --- Markdown -------------------------------------------------------------------------------------------------


def parse_markdown(data: bytes, path: Path) -> ParsedDocument:
    meta, body = split_front_matter(decode_text(data, path))
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    builder = _SectionBuilder()
    title = meta.get("title")
    pending_heading: int | None = None
    row: list[str] = []
    in_cell = False
    list_depth = 0
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            pending_heading = int(token.tag[1])
        elif kind == "inline" and pending_heading is not None:
            text = _inline_text(token)
            if pending_heading == 1 and title is None:
                title = text
            elif pending_heading > 1 or title != text:
                builder.heading(pending_heading, text)
            pending_heading = None
        elif kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "tr_close":
            builder.block(" | ".join(cell for cell in row if cell))
        elif kind == "inline":
            text = _inline_text(token)
            if in_cell:
                row.append(text)
            elif text:
                builder.block(f"- {text}" if list_depth else text)
        elif kind in ("fence", "code_block"):
            builder.block(token.content.strip())
    return ParsedDocument(
        title=title or humanize_stem(path),
        sections=builder.sections(),
        url=meta.get("url") or None,
        updated=meta.get("updated") or None,
    )


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: Markdown emphasis, code and link syntax removed, link text kept."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return clean("".join(parts))


class _SectionBuilder:
    """Collects text blocks under the current heading path; one Section per heading."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []
        self._blocks: list[str] = []
        self._sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        self._flush()
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, text))

    def block(self, text: str) -> None:
        if text.strip():
            self._blocks.append(text.strip())

    def _flush(self) -> None:
        if self._blocks:
            self._sections.append(Section(tuple(text for _, text in self._path), tuple(self._blocks)))
        self._blocks = []

    def sections(self) -> tuple[Section, ...]:
        self._flush()
        return tuple(self._sections)


# --- HTML -----------------------------------------------------------------------------------------------------

_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dt", "dd", "tr", "pre", "blockquote"]


def parse_html(data: bytes, path: Path) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, path), "html.parser")
    for useless in soup(["script", "style", "nav", "header", "footer", "noscript", "template", "form"]):
        useless.decompose()
    builder = _SectionBuilder()
    title_tag = soup.find("title")
    title = clean(title_tag.get_text(" ")) if title_tag else ""
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href") if canonical else None
    updated_tag = soup.find("meta", attrs={"name": "last-modified"}) or soup.find("time", datetime=True)
    updated = (updated_tag.get("content") or updated_tag.get("datetime")) if updated_tag else None
    body = soup.body or soup
    for element in body.find_all(_HTML_BLOCKS):
        if element.find_parent(["li", "p", "tr", "pre", "blockquote", "dd", "dt"]):
            continue  # nested blocks are read with their parent
        text = " ".join(element.get_text(" | " if element.name == "tr" else " ").split())
        if not text:
            continue
        if element.name.startswith("h"):
            level = int(element.name[1])
            if level == 1 and not title:
                title = text
            elif not (level == 1 and text == title):
                builder.heading(level, text)
        else:
            builder.block(f"- {text}" if element.name == "li" else text)
    return ParsedDocument(
        title=title or humanize_stem(path),
        sections=builder.sections(),
        url=str(url) if url else None,
        updated=str(updated) if updated else None,
    )


# --- plain text -----------------------------------------------------------------------------------------------


def parse_text(data: bytes, path: Path) -> ParsedDocument:
    """Paragraphs separated by blank lines; a short first line followed by a blank line is the title."""
    text = decode_text(data, path).replace("\r\n", "\n")
    paragraphs = [clean(part) for part in re.split(r"\n\s*\n", text) if part.strip()]
    title = humanize_stem(path)
    if len(paragraphs) > 1 and "\n" not in paragraphs[0] and len(paragraphs[0]) <= 80:
        title = paragraphs.pop(0)
    blocks = tuple(" ".join(paragraph.splitlines()) for paragraph in paragraphs)
    return ParsedDocument(title=title, sections=(Section((), blocks),) if blocks else ())


# --- PDF ------------------------------------------------------------------------------------------------------


def parse_pdf(data: bytes, path: Path) -> ParsedDocument:
    """Text per page (heading path "Page N"); scanned PDFs without a text layer are reported as empty."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    if not data.lstrip().startswith(b"%PDF-"):
        raise DocumentError("is not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentError("is an encrypted PDF; save an unprotected copy")
        title = (reader.metadata.title if reader.metadata else None) or ""
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            paragraphs = [clean(part) for part in re.split(r"\n\s*\n", page.extract_text() or "") if part.strip()]
            blocks = tuple(" ".join(paragraph.splitlines()) for paragraph in paragraphs)
            if blocks:
                sections.append(Section((f"Page {number}",), blocks))
    except DocumentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DocumentError(f"is a corrupt or unreadable PDF ({error})") from error
    return ParsedDocument(title=clean(title) or humanize_stem(path), sections=tuple(sections))


# --- FAQ (CSV / JSON) -----------------------------------------------------------------------------------------


def _faq_sections(rows: list[dict[str, object]], where: str) -> tuple[Section, ...]:
    """One whole Section per question/answer pair; rows missing either are skipped, all missing is an error."""
    if not rows:
        return ()
    columns = {str(key).strip().lower(): key for key in rows[0]}
    if "question" not in columns or "answer" not in columns:
        found = ", ".join(str(key) for key in rows[0]) or "none"
        raise DocumentError(f"is not an FAQ file: {where} needs 'question' and 'answer' fields (found: {found})")
    sections = []
    for number, row in enumerate(rows, start=1):
        lowered = {str(key).strip().lower(): value for key, value in row.items()}
        question = clean(str(lowered.get("question") or ""))
        answer = clean(str(lowered.get("answer") or ""))
        if question and answer:
            faq_id = clean(str(lowered.get("id") or "")) or str(number)
            sections.append(Section((question,), (answer,), faq_question=question, faq_id=faq_id))
    return tuple(sections)


def parse_faq_csv(data: bytes, path: Path) -> ParsedDocument:
    text = decode_text(data, path)
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as error:
        raise DocumentError(f"is not valid CSV ({error})") from error
    if rows and None in rows[0]:
        raise DocumentError("is not valid CSV (a row has more fields than the header)")
    return ParsedDocument(title=_faq_title(path), sections=_faq_sections(rows, "the header"))


def parse_faq_json(data: bytes, path: Path) -> ParsedDocument:
    """A list of {question, answer[, id]} objects, or {"title", "url", "faqs": [...]}."""
    try:
        payload = json.loads(decode_text(data, path))
    except json.JSONDecodeError as error:
        raise DocumentError(f"is not valid JSON (line {error.lineno}: {error.msg})") from error
    title, url = _faq_title(path), None
    if isinstance(payload, dict):
        title = str(payload.get("title") or title)
        url = payload.get("url")
        payload = payload.get("faqs", payload.get("questions", payload.get("items")))
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise DocumentError('is not an FAQ file: expected a list of {"question": ..., "answer": ...} objects')
    return ParsedDocument(title=title, sections=_faq_sections(payload, "each item"), url=str(url) if url else None)


def _faq_title(path: Path) -> str:
    stem = humanize_stem(path)
    return "Frequently asked questions" if stem.lower() in ("faq", "faqs") else stem


Parser = Callable[[bytes, Path], ParsedDocument]

PARSERS: dict[str, Parser] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".txt": parse_text,
    ".text": parse_text,
    ".pdf": parse_pdf,
    ".csv": parse_faq_csv,
    ".json": parse_faq_json,
}


def parser_for(path: Path) -> Parser:
    try:
        return PARSERS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise DocumentError(f"has an unknown format '{path.suffix or '(none)'}' (supported: {known})") from None
