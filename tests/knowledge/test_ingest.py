"""Ingestion into a real Chroma (embedded directory and `chroma run` server): every format, idempotent
re-runs, changed and deleted documents, bad files. The same tests run against both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import store
from knowledge.ingest import ingest, main
from knowledge.settings import KnowledgeSettings

BAD = Path(__file__).parent / "fixtures" / "bad"


def stored(settings: KnowledgeSettings) -> dict[str, dict]:
    """id -> metadata of everything in the collection."""
    client = store.open_client(settings)
    try:
        result = store.get_collection(client, settings).get(include=["metadatas"])
        return dict(zip(result["ids"], result["metadatas"], strict=True))
    finally:
        client.close()


def by_source(chunks: dict[str, dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for metadata in chunks.values():
        grouped.setdefault(Path(metadata["source"]).name, []).append(metadata)
    return grouped


def test_every_format_is_ingested_with_metadata(settings: KnowledgeSettings, docs: Path) -> None:
    report = ingest([docs], settings)
    assert report.count("new") == 6 and not report.problems, report.summary()
    sources = by_source(stored(settings))
    assert set(sources) == {"returns.md", "delivery.html", "opening-hours.txt", "faq.csv", "gift-cards.json",
                            "mug-care.pdf"}
    returns = sources["returns.md"]
    assert {m["title"] for m in returns} == {"Returns policy"}
    assert {m["url"] for m in returns} == {"https://shop.example/help/returns"}
    assert "Return window > Items we cannot take back" in {m["heading_path"] for m in returns}
    assert all(m["updated"] == "2026-10-01" for m in returns)
    assert all(m["source"].endswith("docs/returns.md") for m in returns)
    assert {m["faq_id"] for m in sources["faq.csv"]} == {"paypal", "wrap"}
    assert all(m["kind"] == "faq" for m in sources["gift-cards.json"])
    assert sources["mug-care.pdf"][0]["heading_path"] == "Page 1"
    assert sources["delivery.html"][0]["url"] == "https://shop.example/help/delivery"
    assert all(m["updated"] for m in sources["opening-hours.txt"])  # file time when the format has none


def test_reingesting_is_idempotent(settings: KnowledgeSettings, docs: Path) -> None:
    first = ingest([docs], settings)
    before = stored(settings)
    second = ingest([docs, docs / "faq.csv"], settings)  # the same file twice is still one document
    assert second.count("unchanged") == 7 and second.count("new") == 0, second.summary()
    assert not second.changed
    assert stored(settings) == before
    assert first.total_chunks == second.total_chunks == len(before)


def test_changed_document_replaces_its_chunks(settings: KnowledgeSettings, docs: Path) -> None:
    ingest([docs], settings)
    page = docs / "opening-hours.txt"
    page.write_text("Opening hours\n\nWe now answer the phone every day from 8:00 to 20:00.\n", encoding="utf-8")
    report = ingest([docs], settings)
    assert report.count("changed") == 1 and report.count("unchanged") == 5, report.summary()
    texts = [m["text"] for m in by_source(stored(settings))["opening-hours.txt"]]
    assert texts == ["We now answer the phone every day from 8:00 to 20:00."]
    ids = list(stored(settings))
    assert len(ids) == len(set(ids)) == report.total_chunks


def test_prune_removes_deleted_documents_only_when_asked(settings: KnowledgeSettings, docs: Path) -> None:
    ingest([docs], settings)
    (docs / "faq.csv").unlink()
    kept = ingest([docs], settings)
    assert "faq.csv" in by_source(stored(settings)) and not kept.pruned
    pruned = ingest([docs], settings, prune=True)
    assert [Path(source).name for source in pruned.pruned] == ["faq.csv"]
    assert "faq.csv" not in by_source(stored(settings))
    assert pruned.total_chunks == len(stored(settings))


def test_bad_files_get_one_message_each_and_leave_the_knowledge_base_intact(
    settings: KnowledgeSettings, docs: Path, tmp_path: Path
) -> None:
    ingest([docs], settings)
    before = stored(settings)
    bad = tmp_path / "incoming"
    shutil.copytree(BAD, bad)
    (bad / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (bad / "huge.md").write_text("# Huge\n\n" + "word " * 300_000, encoding="utf-8")
    shutil.copy(docs / "returns.md", bad / "returns-copy.md")
    (bad / "new-page.md").write_text("# Care of wooden boards\n\nOil wooden chopping boards once a month.\n")
    messages: list[str] = []
    report = ingest([bad, tmp_path / "missing.md"], settings, max_bytes=1_000_000, log=messages.append)
    problems = {Path(p.source).name: p.message for p in report.problems}
    assert problems.keys() == {"empty.md", "corrupt.pdf", "notes.docx", "wrong-columns.csv", "broken.json",
                               "photo.txt", "huge.md", "returns-copy.md", "missing.md"}
    assert "is empty" in problems["empty.md"]
    assert "corrupt or unreadable PDF" in problems["corrupt.pdf"]
    assert "unknown format" in problems["notes.docx"]
    assert "binary" in problems["photo.txt"]
    assert "too large" in problems["huge.md"]
    assert "same content as" in problems["returns-copy.md"]
    assert "does not exist" in problems["missing.md"]
    assert len(messages) == len(problems)  # one message per bad file
    after = stored(settings)
    assert {k: v for k, v in after.items() if not v["source"].endswith("new-page.md")} == before
    assert report.count("new") == 1  # the good file in the batch still went in


def test_cli_reports_and_exit_codes(settings: KnowledgeSettings, docs: Path, capsys: pytest.CaptureFixture) -> None:
    location = ["--chroma-url", settings.chroma_url] if settings.chroma_url else ["--chroma-dir", settings.chroma_dir]
    common = [*location, "--collection", settings.collection, "--no-progress"]
    assert main([str(docs), *common]) == 0
    out = capsys.readouterr().out
    assert "6 new" in out and "in the knowledge base" in out
    assert main([str(docs), str(BAD / "notes.docx"), *common]) == 1
    captured = capsys.readouterr()
    assert "notes.docx" in captured.err and "6 unchanged" in captured.out


def test_cli_help_and_unusable_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "--prune" in capsys.readouterr().out
    code = main([str(tmp_path), "--chroma-dir", str(tmp_path / "kb"), "--model", str(tmp_path / "no-model")])
    assert code == 2
    assert "embedding model directory not found" in capsys.readouterr().err
