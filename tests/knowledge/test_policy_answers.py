"""Policy answers: intent -> topic, the sentences that answer the question, and abstention, on the demo docs."""

from __future__ import annotations

import pytest

from knowledge.abstention import support
from knowledge.answers import answer_question
from knowledge.lexical import tokenize
from knowledge.retrieval import Passage, get_retriever
from knowledge.sentences import select, units_of
from knowledge.settings import KnowledgeSettings
from knowledge.topics import POLICY_INTENTS, TOPICS, topic_for

RULE_INTENTS = {
    "check_cancellation_fee", "change_order", "check_invoice", "check_payment_methods", "payment_issue",
    "check_refund_policy", "create_account", "delete_account", "edit_account", "switch_account",
    "recover_password", "registration_problems", "delivery_options", "delivery_period",
    "newsletter_subscription", "place_order", "review", "set_up_shipping_address", "complaint",
}


def passage(source: str, heading: str = "", faq_id: str = "") -> Passage:
    return Passage(id="x", text="", title="", heading_path=heading, source=source, faq_id=faq_id)


def test_every_policy_intent_has_a_topic_with_its_canned_fallback() -> None:
    assert POLICY_INTENTS == RULE_INTENTS
    for intent in RULE_INTENTS:
        assert topic_for(intent).fallback == f"utter_{intent}"
    assert topic_for(None) is None


def test_topic_covers_its_pages_sections_and_faq_ids_only() -> None:
    refunds, delete = TOPICS["check_refund_policy"], TOPICS["delete_account"]
    assert refunds.covers(passage("knowledge/docs/returns-refunds.md", "Return postage"))
    assert refunds.covers(passage("knowledge/docs/faq.csv", "Can I return a personalised item?", "personalised"))
    assert not refunds.covers(passage("knowledge/docs/faq.csv", "Do you ship to Norway?", "ship-norway"))
    assert not refunds.covers(passage("knowledge/docs/payments.md", "Currency"))
    assert delete.covers(passage("docs/privacy.md", "How long do you keep it?"))
    review = TOPICS["review"]
    assert review.covers(passage("ordering.md", "Writing a review"))
    assert review.covers(passage("ordering.md", "Writing a review > Moderation"))
    assert not review.covers(passage("ordering.md", "Newsletter"))


def test_topic_sources_name_real_documents() -> None:
    from tests.knowledge.conftest import REPO

    names = {path.name for path in (REPO / "knowledge" / "docs").iterdir()}
    for topic in TOPICS.values():
        for source in topic.sources:
            assert source.partition("#")[0] in names, (topic.name, source)


def test_table_rows_become_sentences_and_the_header_is_dropped() -> None:
    units = units_of("Intro sentence. Second one.\nDestination | Cost\nNorway, Iceland | £14.95\nEU | £9.95")
    assert [unit.text for unit in units] == ["Intro sentence.", "Second one.", "Norway, Iceland: £14.95",
                                             "EU: £9.95"]
    assert units[2].lead == 1


def test_abstention_counts_words_the_documents_do_not_have() -> None:
    vocabulary = frozenset(tokenize("we accept paypal cards and pay by gift card, returns are free"))
    ordered = tuple(sorted(vocabulary))
    klarna = support("can I pay in instalments with Klarna?", set(tokenize("we accept paypal")), vocabulary,
                     ordered)
    assert klarna.unknown == pytest.approx(2 / 3)  # pay is known; instalments and Klarna are not
    typo = support("are retruns free?", set(tokenize("returns are free")), vocabulary, ordered)
    assert typo.unknown == 0.0 and typo.covered == 1.0  # "retruns" is read as "returns"
    assert support("hi, please help!", set(), vocabulary, ordered).terms == ()


@pytest.mark.parametrize(
    ("question", "intent", "wanted", "unwanted"),
    [
        ("can i get it delivered on a saturday", "delivery_options", "Saturday", "£3.95"),
        ("do you deliver to the Isle of Skye, is it extra?", "delivery_options", "no surcharge", "DHL"),
        ("can I pay cash on delivery", "check_payment_methods", "do not", "3-D Secure"),
        ("are personalised items refundable", "check_refund_policy", "cannot be returned", "3 to 5"),
        ("who pays the return postage if I live in France", "check_refund_policy", "own cost", "gift card"),
        ("my lamp broke after 18 months, is it under warranty", None, "2-year warranty", "dishwasher"),
        ("what's the delivery cost to Switzerland", "delivery_options", "£14.95", "£9.95"),
    ],
)
def test_the_reply_answers_the_specific_question(demo_kb: KnowledgeSettings, question: str, intent: str | None,
                                                  wanted: str, unwanted: str) -> None:
    answer = answer_question(question, get_retriever(demo_kb), topic=topic_for(intent))
    assert answer.found, (answer.relevance, answer.hits[:1])
    assert wanted in answer.text and unwanted not in answer.text, answer.text
    assert len(answer.text) <= 420


def test_long_sections_are_cut_to_the_sentences_asked_about(demo_kb: KnowledgeSettings) -> None:
    section = next(p for p in get_retriever(demo_kb).snapshot().passages if p.heading_path == "Return postage")
    text = select("do I pay the return postage when I send it back from Germany?", section.text, demo_kb.model_dir)
    assert "own cost" in text and "Aire Valley" not in text and len(text) < len(section.text) * 0.7


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("can I pay in instalments with Klarna", "check_payment_methods"),
        ("is there a student discount", None),
        ("can the courier leave my parcel with a neighbour", "delivery_options"),
        ("what's the weather in Leeds today", None),
    ],
)
def test_questions_the_documents_do_not_answer_are_refused(demo_kb: KnowledgeSettings, question: str,
                                                            intent: str | None) -> None:
    assert not answer_question(question, get_retriever(demo_kb), topic=topic_for(intent)).found
