"""Retrieval relevance, the relevance threshold and the answer builder, on fixture and demo documents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.answers import answer_question, confidence_of
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever, get_retriever
from knowledge.settings import KnowledgeSettings

DOCS = Path(__file__).parent / "fixtures" / "docs"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("question", "title", "heading"),
    [
        ("do you deliver to norway", "Delivery information", "Delivery to Norway"),
        ("how long until I get my money back after returning?", "Returns policy", "Refund timing"),
        ("can I send back an engraved item", "Returns policy", "Return window > Items we cannot take back"),
        ("can I put the mug in the dishwasher?", "Mug care guide", "Page 1"),
        ("when is your phone line open", "Opening hours", ""),
        ("do you take paypal", "Frequently asked questions", "Can I pay with PayPal?"),
        ("does a gift card expire", "Gift card questions", "How long is a gift card valid?"),
    ],
)
def test_hybrid_search_finds_the_right_passage(fixture_kb: KnowledgeSettings, question: str, title: str,
                                               heading: str) -> None:
    retriever = Retriever(fixture_kb)
    best = retriever.search(question, k=3)[0]
    assert (best.passage.title, best.passage.heading_path) == (title, heading)
    assert confidence_of(question, best, retriever) >= fixture_kb.threshold


def test_all_modes_rank_and_only_bm25_has_no_relevance(fixture_kb: KnowledgeSettings) -> None:
    retriever = Retriever(fixture_kb)
    for mode in ("hybrid", "blend", "dense", "bm25"):
        hits = retriever.search("gift wrapping price", k=2, mode=mode)
        assert hits[0].passage.faq_id == "wrap", mode
    assert retriever.search("gift wrapping price", mode="bm25")[0].relevance != retriever.search(
        "gift wrapping price", mode="bm25")[0].relevance  # NaN: plain BM25 never embeds the question
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        retriever.search("x", mode="magic")  # type: ignore[arg-type]


def test_answer_cites_its_source_and_link(fixture_kb: KnowledgeSettings) -> None:
    answer = answer_question("How many days do refunds take?", Retriever(fixture_kb))
    assert answer.found and answer.title == "Returns policy"
    assert "3 to 5 business days" in answer.text
    assert answer.citation == "Source: Returns policy (https://shop.example/help/returns)"


@pytest.mark.parametrize("question", ["what is the capital of France", "tell me a joke", "how tall is Mount Everest"])
def test_questions_the_documents_do_not_cover_are_not_answered(fixture_kb: KnowledgeSettings, question: str) -> None:
    answer = answer_question(question, Retriever(fixture_kb))
    assert not answer.found and not answer.unavailable
    assert answer.relevance < fixture_kb.threshold


def test_threshold_decides(fixture_kb: KnowledgeSettings) -> None:
    retriever = Retriever(fixture_kb)
    relevance = answer_question("do you deliver to norway", retriever, threshold=0.0).relevance
    assert answer_question("do you deliver to norway", retriever, threshold=relevance - 0.01).found
    assert not answer_question("do you deliver to norway", retriever, threshold=relevance + 0.01).found


def test_long_passages_are_trimmed_to_the_sentences_that_answer(fixture_kb: KnowledgeSettings) -> None:
    answer = answer_question("Should hand-painted mugs go in the dishwasher?", Retriever(fixture_kb), max_chars=120)
    assert answer.found and len(answer.text) <= 120
    assert "washed by hand" in answer.text


def test_missing_or_empty_knowledge_base_is_reported_not_raised(tmp_path: Path) -> None:
    missing = KnowledgeSettings(chroma_dir=str(tmp_path / "nowhere"))
    answer = answer_question("do you ship to Norway?", Retriever(missing))
    assert not answer.found and "no knowledge base" in answer.unavailable
    assert not (tmp_path / "nowhere").exists()  # looking does not create an empty base
    (tmp_path / "empty").mkdir()
    empty = answer_question("do you ship to Norway?", Retriever(KnowledgeSettings(chroma_dir=str(tmp_path / "empty"))))
    assert not empty.found and "empty" in empty.unavailable


def test_retriever_sees_reingested_content(settings: KnowledgeSettings, docs: Path) -> None:
    """Runs on both backends: an ingest elsewhere changes the revision, the live retriever reloads."""
    ingest([docs], settings)
    retriever = get_retriever(settings)
    assert retriever is get_retriever(settings)  # one per process and settings
    before = retriever.size()
    (docs / "boards.md").write_text("# Wooden boards\n\nOil wooden chopping boards once a month.\n", encoding="utf-8")
    ingest([docs], settings)
    assert retriever.size() == before + 1
    assert retriever.search("how often should I oil a chopping board", k=1)[0].passage.title == "Wooden boards"


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("do you ship to Norway?", "Frequently asked questions"),
        ("can I return a gift without the receipt?", "Frequently asked questions"),
        ("how long does delivery to Germany take?", "Shipping & delivery"),
        ("is there a fee to cancel my order?", "Cancelling or changing an order"),
        ("my vase arrived smashed", "Warranty & faulty items"),
        ("how long is a gift card valid", "Gift cards"),
        ("what's your VAT number", "Invoices & VAT receipts"),
        ("do you sell my personal data", "Privacy & your data"),
        ("how much is gift wrapping", "Gift wrapping & gift messages|Frequently asked questions"),
    ],
)
def test_demo_documents_answer_shop_questions(demo_kb: KnowledgeSettings, question: str, title: str) -> None:
    answer = answer_question(question, get_retriever(demo_kb))
    assert answer.found and answer.title in title.split("|"), (answer.title, answer.relevance, answer.text)


@pytest.mark.parametrize(
    "question", ["what's the weather in Paris tomorrow", "who won the football", "can you recommend a good recipe"]
)
def test_demo_documents_admit_what_they_do_not_cover(demo_kb: KnowledgeSettings, question: str) -> None:
    assert not answer_question(question, get_retriever(demo_kb)).found


def test_action_server_process_sees_an_ingest_run_from_another_process(tmp_path: Path, docs: Path) -> None:
    """The real deployment: the action server keeps its retriever while `python -m knowledge.ingest` runs
    separately against the same embedded Chroma directory."""
    settings = KnowledgeSettings(chroma_dir=str(tmp_path / "kb"))
    ingest([docs], settings)
    retriever = Retriever(settings)
    before = retriever.size()
    (docs / "boards.md").write_text("# Wooden boards\n\nOil wooden chopping boards once a month.\n", encoding="utf-8")
    cli = [sys.executable, "-m", "knowledge.ingest", str(docs), "--chroma-dir", settings.chroma_dir, "--no-progress"]
    subprocess.run(cli, check=True, capture_output=True, cwd=REPO, timeout=300)
    assert retriever.search("how often should I oil a chopping board", k=1)[0].passage.title == "Wooden boards"
    assert retriever.size() == before + 1
