"""Parsers keep each format's structure; chunking keeps FAQ pairs whole and splits long sections with overlap."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.documents import DocumentError, ParsedDocument, Section
from knowledge.parsers import parser_for

FIXTURES = Path(__file__).parent / "fixtures"
DOCS, BAD = FIXTURES / "docs", FIXTURES / "bad"


def parse(name: str, folder=DOCS) -> ParsedDocument:
    path = folder / name
    return parser_for(path)(path.read_bytes(), path)


def test_markdown_keeps_front_matter_heading_paths_lists_and_tables() -> None:
    document = parse("returns.md")
    assert document.title == "Returns policy"
    assert document.url == "https://shop.example/help/returns"
    assert document.updated == "2026-10-01"
    paths = [section.heading_path for section in document.sections]
    assert ("Return window", "Items we cannot take back") in paths
    items = dict(zip(paths, (section.blocks for section in document.sections), strict=True))
    assert "- Personalised engraved items" in items[("Return window", "Items we cannot take back")]
    assert "Refund after we receive the parcel | 3 to 5 business days" in items[("Refund timing",)]


def test_html_drops_scripts_and_navigation_and_reads_canonical_link() -> None:
    document = parse("delivery.html")
    assert document.title == "Delivery information"
    assert document.url == "https://shop.example/help/delivery"
    assert document.updated == "2026-09-15"
    text = " ".join(block for section in document.sections for block in section.blocks)
    assert "do not index" not in text and "Basket" not in text
    assert [section.heading_path for section in document.sections] == [("Delivery to Norway",), ("Delivery in the UK",)]
    assert "- Free on orders over £30" in document.sections[1].blocks


def test_plain_text_takes_a_short_first_line_as_title() -> None:
    document = parse("opening-hours.txt")
    assert document.title == "Opening hours"
    assert len(document.sections[0].blocks) == 2


def test_pdf_text_per_page_with_document_title() -> None:
    document = parse("mug-care.pdf")
    assert document.title == "Mug care guide"
    assert document.sections[0].heading_path == ("Page 1",)
    assert "dishwasher safe" in document.sections[0].blocks[0]


def test_faq_files_give_one_whole_section_per_pair() -> None:
    csv_doc = parse("faq.csv")
    assert [section.faq_id for section in csv_doc.sections] == ["paypal", "wrap"]  # the empty row is skipped
    json_doc = parse("gift-cards.json")
    assert json_doc.title == "Gift card questions" and json_doc.url == "https://shop.example/help/gift-cards"
    assert json_doc.sections[0].faq_question == "How long is a gift card valid?"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("corrupt.pdf", "corrupt or unreadable PDF"),
        ("notes.docx", "unknown format '.docx'"),
        ("wrong-columns.csv", "needs 'question' and 'answer'"),
        ("broken.json", "not valid JSON"),
    ],
)
def test_bad_files_raise_a_clear_message(name: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        parse(name, BAD)


def test_binary_text_file_is_refused(tmp_path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DocumentError, match="binary"):
        parser_for(path)(path.read_bytes(), path)


def test_long_sections_split_with_overlap_and_faq_pairs_stay_whole() -> None:
    sentences = [f"Sentence number {index} explains one more detail of the policy." for index in range(40)]
    long_answer = " ".join(sentences)
    document = ParsedDocument(
        "Policy",
        (Section(("Details",), (long_answer,)), Section(("Q?",), (long_answer,), faq_question="Q?", faq_id="1")),
    )
    chunks = chunk_document(document, max_chars=300, overlap=80)
    passages = [chunk for chunk in chunks if not chunk.faq_question]
    assert len(passages) > 5 and all(len(chunk.text) <= 300 for chunk in passages)
    for previous, following in itertools.pairwise(passages):
        assert following.text.split(". ")[0].rstrip(".") in previous.text  # starts with the previous tail
    assert all(chunk.heading_path == ("Details",) for chunk in passages)
    faq = [chunk for chunk in chunks if chunk.faq_question]
    assert len(faq) == 1 and faq[0].text == long_answer
    assert faq[0].embedding_text.startswith("Policy > Q?\nQ: Q?\nA: ")
