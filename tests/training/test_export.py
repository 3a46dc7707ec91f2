"""Export: reviewed messages → training_data/nlu/from_logs.yml, deduplicated, refused or validated by Rasa."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from tests.training.support import TrackerWriter
from training.annotations import AnnotationBook, Span
from training.export import ExportRefused, ValidationFailed, build_examples, export, normalise
from training.inbox import Inbox
from training.rasa_yaml import nlu_examples
from training.settings import TrainingSettings
from training.tables import Verdict


@pytest.fixture
def reviewed(project: TrainingSettings, tracker: TrackerWriter,
             sessions: sessionmaker[Session]) -> tuple[AnnotationBook, Inbox, dict[str, str]]:
    texts = {
        "halt": ("please halt the shipment", "out_of_scope", 0.37),
        "halt_again": ("Please halt the shipment!", "greet", 0.41),  # the same example, other punctuation
        "known": ("where is my package", "track_order", 0.55),  # already in the training data
        "conflict": ("cancel my order", "track_order", 0.51),  # in the training data as cancel_order
        "email": ("send it to me at bob@mail.example 581142", "greet", 0.2),
        "weather": ("is it raining in leeds", "greet", 0.3),
        "junk": ("asdf qwer", "greet", 0.2),
    }
    tracker.start("c")
    keys = {name: f"c:{tracker.user('c', text, intent, conf)}" for name, (text, intent, conf) in texts.items()}
    book = AnnotationBook(sessions, project.domain)
    return book, Inbox(project.tracker_url, sessions, book), keys


def label(book: AnnotationBook, inbox: Inbox, key: str, verdict: Verdict, intent: str = "",
          spans: tuple[Span, ...] = ()) -> None:
    book.annotate(inbox.find([key]), verdict, intent, spans)


def test_dedupes_against_itself_and_the_training_data(project: TrainingSettings, reviewed) -> None:  # type: ignore[no-untyped-def]
    book, inbox, keys = reviewed
    label(book, inbox, keys["halt"], Verdict.LABEL, "cancel_order")
    label(book, inbox, keys["halt_again"], Verdict.LABEL, "cancel_order")
    label(book, inbox, keys["known"], Verdict.LABEL, "track_order")
    label(book, inbox, keys["conflict"], Verdict.LABEL, "track_order")
    text = "send it to me at customer@example.com 581142"
    label(book, inbox, keys["email"], Verdict.LABEL, "track_order",
          (Span(17, 37, "email"), Span(38, 44, "order_id")))
    label(book, inbox, keys["weather"], Verdict.OUT_OF_SCOPE)
    label(book, inbox, keys["junk"], Verdict.IGNORE)
    examples, result, written = build_examples(book.all(), project)
    assert examples == {"cancel_order": ["Please halt the shipment!"],  # the latest of the two wins
                        "track_order": ["send it to me at [customer@example.com](email) [581142](order_id)"],
                        "out_of_scope": ["is it raining in leeds"]}
    assert text in examples["track_order"][0].replace("[", "").replace("](email)", "").replace("](order_id)", "")
    assert result.written == 3 and len(written) == 3
    assert sorted(result.duplicates) == ["please halt the shipment", "where is my package"]
    assert result.conflicts == ["cancel my order"]
    assert normalise("Please  halt, the [shipment](x)!") == "please halt the shipment"


def test_refuses_intents_the_domain_does_not_know(project: TrainingSettings, reviewed) -> None:  # type: ignore[no-untyped-def]
    book, inbox, keys = reviewed
    label(book, inbox, keys["halt"], Verdict.LABEL, "cancel_order")
    project.domain.write_text(project.domain.read_text().replace("cancel_order, ", ""))  # the domain moved on
    with pytest.raises(ExportRefused, match=r"intent\(s\) cancel_order not in domain.yml"):
        export(book, project, run_validation=False)
    assert not project.export_file.exists()


@pytest.mark.slow
def test_export_writes_valid_rasa_data_or_keeps_the_previous_file(project: TrainingSettings, reviewed) -> None:  # type: ignore[no-untyped-def]
    book, inbox, keys = reviewed
    label(book, inbox, keys["halt"], Verdict.LABEL, "cancel_order")
    label(book, inbox, keys["email"], Verdict.LABEL, "track_order", (Span(38, 44, "order_id"),))
    result = export(book, project)  # runs the real `rasa data validate`
    data = yaml.safe_load(project.export_file.read_text())
    assert sorted(nlu_examples(data)) == [("cancel_order", "please halt the shipment"),
                                          ("track_order", "send it to me at customer@example.com [581142](order_id)")]
    assert result.written == 2 and all(a.exported for a in book.all())
    assert "bob@mail.example" not in project.export_file.read_text()
    before = project.export_file.read_bytes()

    # data Rasa refuses (a rule file that breaks the schema): the previous export stays
    (project.data_dir / "broken_rules.yml").write_text('version: "3.1"\nrules:\n- rule: broken\n  stepz: []\n')
    label(book, inbox, keys["weather"], Verdict.OUT_OF_SCOPE)
    with pytest.raises(ValidationFailed, match="stepz"):
        export(book, project)
    assert project.export_file.read_bytes() == before
