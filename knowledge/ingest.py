"""Ingest the shop's documents into the knowledge base: `python -m knowledge.ingest PATH... [--prune]`.

Idempotent: chunk ids are content hashes, unchanged documents are skipped, a changed document's chunks are
replaced (new ones written before stale ones are deleted, so the base is never half-empty), and --prune
drops documents whose files are gone. A bad file gets one clear message and the batch goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from knowledge import store
from knowledge.chunking import MAX_CHARS, OVERLAP_CHARS, Chunk, chunk_document
from knowledge.documents import DocumentError, ParsedDocument
from knowledge.embeddings import ModelNotFoundError, embedding_dimension, encode, model_label
from knowledge.parsers import PARSERS, parser_for
from knowledge.settings import KnowledgeSettings

DEFAULT_MAX_MB = 20.0
CHUNKING_VERSION = "1"
_PAGE = 2000


@dataclass
class FileOutcome:
    source: str
    status: str  # new | changed | unchanged | failed | duplicate
    message: str = ""
    chunks_written: int = 0
    chunks_removed: int = 0


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    chunks_pruned: int = 0
    total_chunks: int = 0
    location: str = ""

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def problems(self) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status in ("failed", "duplicate")]

    @property
    def changed(self) -> bool:
        return bool(self.pruned) or any(o.chunks_written or o.chunks_removed for o in self.outcomes)

    def summary(self) -> str:
        written = sum(outcome.chunks_written for outcome in self.outcomes)
        removed = sum(outcome.chunks_removed for outcome in self.outcomes) + self.chunks_pruned
        lines = [
            f"Knowledge base: {self.location}",
            f"  files: {len(self.outcomes)} seen, {self.count('new')} new, {self.count('changed')} changed, "
            f"{self.count('unchanged')} unchanged, {len(self.problems)} skipped with a problem",
            f"  chunks: {written} written, {removed} removed, {self.total_chunks} in the knowledge base",
        ]
        if self.pruned:
            lines.append(f"  pruned {len(self.pruned)} deleted document(s): {', '.join(self.pruned)}")
        for problem in self.problems:
            lines.append(f"  ! {problem.source}: {problem.message}")
        return "\n".join(lines)


def source_key(path: Path) -> str:
    """How a file is named in the knowledge base: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """Files under the given files/folders in a stable order; (path, message) for a path that does not exist."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path, None
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name, None
        else:
            yield path, "does not exist"


def chunk_id(source: str, chunk: Chunk) -> str:
    return hashlib.sha256(f"{source}\0{chunk.embedding_text}".encode()).hexdigest()[:32]


def chunk_metadata(
    source: str, document: ParsedDocument, chunk: Chunk, index: int, doc_hash: str, chunking: str
) -> dict[str, str | int]:
    return {
        "source": source,
        "title": document.title,
        "url": document.url or "",
        "heading_path": " > ".join(chunk.heading_path),
        "updated": document.updated or "",
        "kind": "faq" if chunk.faq_question else "passage",
        "faq_id": chunk.faq_id or "",
        "faq_question": chunk.faq_question or "",
        "text": chunk.text,
        "chunk_index": index,
        "doc_hash": doc_hash,
        "chunking": chunking,
    }


class Ingestor:
    """Writes documents into one collection; knows what is already stored so each file is handled once."""

    def __init__(
        self,
        settings: KnowledgeSettings,
        *,
        max_bytes: int = int(DEFAULT_MAX_MB * 1024 * 1024),
        max_chars: int = MAX_CHARS,
        overlap: int = OVERLAP_CHARS,
        rebuild: bool = False,
    ) -> None:
        self.settings = settings
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self.overlap = overlap
        self.chunking = f"{CHUNKING_VERSION}/{max_chars}/{overlap}"
        self.model = model_label(settings.model_dir)
        self.dimension = embedding_dimension(settings.model_dir)
        self.client = store.open_client(settings)
        if rebuild:
            with contextlib.suppress(Exception):  # not there yet: nothing to rebuild
                self.client.delete_collection(settings.collection)
        self.collection = store.get_or_create_collection(self.client, settings, self.model, self.dimension)
        self.stored = self._stored_documents()
        self.hash_owner: dict[str, str] = {}  # content hash -> source, for this batch and live stored documents
        for source, (doc_hash, _chunking, _ids) in self.stored.items():
            if Path(source).is_file():
                self.hash_owner.setdefault(doc_hash, source)

    def _stored_documents(self) -> dict[str, tuple[str, str, set[str]]]:
        """source -> (content hash, chunking, chunk ids) for everything already in the collection."""
        stored: dict[str, tuple[str, str, set[str]]] = {}
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for chunk_id_, metadata in zip(page["ids"], page["metadatas"] or [], strict=True):
                source = str(metadata.get("source", ""))
                doc_hash, chunking, ids = stored.get(source, (str(metadata.get("doc_hash")), "", set()))
                ids.add(chunk_id_)
                stored[source] = (doc_hash, str(metadata.get("chunking", chunking)), ids)
            if len(page["ids"]) < _PAGE:
                return stored
            offset += _PAGE

    def ingest_file(self, path: Path) -> FileOutcome:
        source = source_key(path)
        try:
            return self._ingest(path, source)
        except DocumentError as error:
            return FileOutcome(source, "failed", f"{path.name} {error}")
        except OSError as error:
            return FileOutcome(source, "failed", f"cannot read {path.name}: {error.strerror or error}")

    def _ingest(self, path: Path, source: str) -> FileOutcome:
        parser = parser_for(path)
        size = path.stat().st_size
        if size == 0:
            raise DocumentError("is empty")
        if size > self.max_bytes:
            raise DocumentError(
                f"is too large ({size / 1048576:.1f} MB; the limit is {self.max_bytes / 1048576:.0f} MB)"
            )
        data = path.read_bytes()
        doc_hash = hashlib.sha256(data).hexdigest()
        owner = self.hash_owner.get(doc_hash)
        if owner is not None and owner != source:
            return FileOutcome(source, "duplicate", f"{path.name} has the same content as {owner}; skipped")
        self.hash_owner[doc_hash] = source
        previous = self.stored.get(source)
        if previous and previous[0] == doc_hash and previous[1] == self.chunking:
            return FileOutcome(source, "unchanged")
        document = parser(data, path)
        if document.is_empty:
            raise DocumentError("has no text to index")
        if not document.updated:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            document = ParsedDocument(document.title, document.sections, document.url, mtime.date().isoformat())
        chunks = chunk_document(document, self.max_chars, self.overlap)
        ids = [chunk_id(source, chunk) for chunk in chunks]
        metadatas = [
            chunk_metadata(source, document, chunk, index, doc_hash, self.chunking)
            for index, chunk in enumerate(chunks)
        ]
        old_ids = previous[2] if previous else set()
        fresh = [index for index, id_ in enumerate(ids) if id_ not in old_ids]
        kept = [index for index, id_ in enumerate(ids) if id_ in old_ids]
        if fresh:
            vectors = encode(self.settings.model_dir, [chunks[index].embedding_text for index in fresh])
            for start in range(0, len(fresh), _PAGE):
                batch = fresh[start : start + _PAGE]
                self.collection.upsert(
                    ids=[ids[index] for index in batch],
                    embeddings=vectors[start : start + len(batch)],
                    documents=[chunks[index].embedding_text for index in batch],
                    metadatas=[metadatas[index] for index in batch],
                )
        if kept:
            self.collection.update(ids=[ids[index] for index in kept], metadatas=[metadatas[index] for index in kept])
        stale = sorted(old_ids - set(ids))
        self._delete(stale)
        self.stored[source] = (doc_hash, self.chunking, set(ids))
        return FileOutcome(source, "changed" if previous else "new", "", len(fresh), len(stale))

    def prune(self, seen: set[str]) -> tuple[list[str], int]:
        """Remove documents whose files were not found in this run (a file that failed to parse is kept)."""
        gone = sorted(source for source in self.stored if source not in seen)
        removed = 0
        for source in gone:
            ids = sorted(self.stored.pop(source)[2])
            self._delete(ids)
            removed += len(ids)
        return gone, removed

    def _delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            self.collection.delete(ids=list(ids[start : start + _PAGE]))

    def finish(self, changed: bool) -> int:
        if changed:
            store.mark_changed(self.collection, self.model, self.dimension)
        return self.collection.count()

    def close(self) -> None:
        """Release the client: an embedded Chroma's in-memory index is per process and must not outlive us."""
        with contextlib.suppress(Exception):
            self.client.close()


def ingest(
    paths: Sequence[str | Path],
    settings: KnowledgeSettings | None = None,
    *,
    prune: bool = False,
    rebuild: bool = False,
    max_bytes: int = int(DEFAULT_MAX_MB * 1024 * 1024),
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP_CHARS,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> IngestReport:
    """Ingest files and folders; returns what happened to each file. Raises KnowledgeBaseUnavailable or
    ModelNotFoundError only when the knowledge base itself cannot be used."""
    settings = settings or KnowledgeSettings.from_env()
    ingestor = Ingestor(settings, max_bytes=max_bytes, max_chars=max_chars, overlap=overlap, rebuild=rebuild)
    report = IngestReport(location=settings.describe_location())
    try:
        files = list(discover(paths))
        seen: set[str] = set()
        bar = tqdm(files, desc="Ingesting", unit="file", disable=not progress, file=sys.stderr)
        for path, missing in bar:
            if missing:
                outcome = FileOutcome(str(path), "failed", f"{path} {missing}")
            else:
                seen.add(source_key(path))
                bar.set_postfix_str(path.name[-40:], refresh=False)
                try:
                    outcome = ingestor.ingest_file(path)
                except Exception as error:  # the store itself failed (server gone, disk full): stop the batch
                    bar.close()
                    raise store.KnowledgeBaseUnavailable(
                        f"writing {source_key(path)} to {settings.describe_location()} failed: {error}"
                    ) from error
            if outcome.status in ("failed", "duplicate"):
                (tqdm.write if progress else log)(f"skipped {outcome.source}: {outcome.message}")
            report.outcomes.append(outcome)
        if prune:
            report.pruned, report.chunks_pruned = ingestor.prune(seen)
        report.total_chunks = ingestor.finish(report.changed)
        return report
    finally:
        ingestor.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.ingest",
        description=(
            "Add the shop's documents to the ShopDesk knowledge base (Chroma). Files or folders; formats: "
            f"{', '.join(sorted(PARSERS))} (.csv/.json are FAQ files with question and answer fields). "
            "Re-running is safe: unchanged files are skipped and changed files replace their old chunks."
        ),
        epilog=(
            "Environment: SHOPDESK_KNOWLEDGE_DIR (default var/chroma), SHOPDESK_CHROMA_URL (use a Chroma server), "
            "SHOPDESK_KNOWLEDGE_MODEL (embedding model directory). Exit status: 0 all files ingested, "
            "1 some files skipped with a problem (the others were ingested), 2 the knowledge base is unusable."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to ingest")
    parser.add_argument(
        "--prune", action="store_true", help="remove documents whose files are no longer among PATHs"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop the whole knowledge base first")
    parser.add_argument("--model", metavar="DIR", help="local sentence-transformers model directory")
    location = parser.add_mutually_exclusive_group()
    location.add_argument("--chroma-dir", metavar="DIR", help="persistent Chroma directory")
    location.add_argument("--chroma-url", metavar="URL", help="Chroma server URL, e.g. http://localhost:8000")
    parser.add_argument("--collection", help=argparse.SUPPRESS)
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, help="skip files larger than this (MB)")
    parser.add_argument("--chunk-chars", type=int, default=MAX_CHARS, help="maximum characters per chunk")
    parser.add_argument("--overlap", type=int, default=OVERLAP_CHARS, help="characters repeated between chunks")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.chunk_chars < 100 or not 0 <= args.overlap < args.chunk_chars // 2 or args.max_mb <= 0:
        print("error: need --chunk-chars >= 100, 0 <= --overlap < chunk-chars/2 and --max-mb > 0", file=sys.stderr)
        return 2
    try:
        settings = KnowledgeSettings.from_env()
        settings = settings.with_overrides(model_dir=args.model, collection=args.collection)
        if args.chroma_dir:  # an explicit directory also overrides SHOPDESK_CHROMA_URL
            settings = replace(settings, chroma_dir=args.chroma_dir, chroma_url=None)
        elif args.chroma_url:
            settings = replace(settings, chroma_url=args.chroma_url)
        report = ingest(
            args.paths,
            settings,
            prune=args.prune,
            rebuild=args.rebuild,
            max_bytes=int(args.max_mb * 1024 * 1024),
            max_chars=args.chunk_chars,
            overlap=args.overlap,
            progress=not args.no_progress,
            log=lambda message: print(message, file=sys.stderr),
        )
    except (store.KnowledgeBaseUnavailable, ModelNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # e.g. a Chroma server that refuses the request: a message, not a traceback
        print(f"error: the knowledge base could not be updated: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
