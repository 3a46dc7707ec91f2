"""The review inbox reads Rasa's tracker store directly: turns, fallbacks, handoffs, agents, sorting, filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from console.handoffs import HandoffDesk
from tests.training.support import TrackerWriter
from training.annotations import AnnotationBook, AnnotationRefused, Span, parse_spans
from training.inbox import Inbox, InboxFilter
from training.logs import conversation_events, read_messages
from training.settings import TrainingSettings
from training.stories import story_yaml
from training.tables import Verdict


@pytest.fixture
def seeded(tracker: TrackerWriter) -> dict[str, int]:
    ids = {}
    tracker.start("happy")
    ids["hello"] = tracker.user("happy", "hello", "greet", 0.97)
    tracker.bot_turn("happy", "utter_greet", "Hello! How can I help?")
    ids["track"] = tracker.user("happy", "where is my order 581142", "track_order", 0.91,
                                [{"start": 18, "end": 24, "entity": "order_id", "value": "581142"}], channel="socketio")
    tracker.bot_turn("happy", "utter_track", "Let me track that order.")
    tracker.start("lost")
    ids["halt"] = tracker.user("lost", "please halt the shipment", "out_of_scope", 0.37)
    tracker.bot_turn("lost", "utter_oos", "Sorry, I can't help with that.")
    ids["email"] = tracker.user("lost", "my email is jane.roe@gmail.com", "greet", 0.42,
                                [{"start": 12, "end": 30, "entity": "email", "value": "jane.roe@gmail.com"}])
    tracker.raw("lost", {"event": "action", "name": "action_handoff_to_human"})
    tracker.raw("lost", {"event": "pause"})
    ids["paused"] = tracker.user("lost", "hello? anyone <b>there</b>", "greet", 0.88)
    tracker.bot_turn("lost", "utter_greet", "Hi, this is Sam from customer service", agent="Sam")
    tracker.start("kb")
    ids["kb"] = tracker.user("kb", "do you sell gift cards", "nlu_fallback", 0.3)
    tracker.raw("kb", {"event": "action", "name": "action_answer_from_knowledge"})
    tracker.slot("kb", "kb_misses", 1.0)
    return ids


def test_reads_turns_from_the_tracker_store(project: TrainingSettings, seeded: dict[str, int]) -> None:
    messages = {m.event_id: m for m in read_messages(project.tracker_url)}
    assert len(messages) == 6
    track = messages[seeded["track"]]
    assert (track.intent, track.confidence, track.channel) == ("track_order", 0.91, "socketio")
    assert track.replies == ["Let me track that order."] and track.actions == ["utter_track"]
    assert messages[seeded["halt"]].fallback == "out_of_scope"
    assert messages[seeded["email"]].handoff
    assert messages[seeded["paused"]].agent_replied and not messages[seeded["paused"]].replies
    assert messages[seeded["kb"]].fallback == "nlu_fallback" and messages[seeded["kb"]].kb_miss


def test_missing_tracker_store_reads_as_empty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert read_messages(f"sqlite:///{tmp_path / 'nothing-yet.db'}") == []


def test_inbox_sorts_the_most_useful_first_and_redacts(project: TrainingSettings, seeded: dict[str, int],
                                                        sessions: sessionmaker[Session]) -> None:
    HandoffDesk(sessions).open_handoff("happy", "requested", last_message="where is my order 581142")
    book = AnnotationBook(sessions, project.domain)
    inbox = Inbox(project.tracker_url, sessions, book)
    items = inbox.items(InboxFilter(status="all"))
    order = [i.message.event_id for i in items]
    assert order[-1] == seeded["hello"]  # confident and uneventful: last
    assert order.index(seeded["email"]) < order.index(seeded["track"])
    email = next(i for i in items if i.message.event_id == seeded["email"])
    assert email.text == "my email is customer@example.com" and email.redacted == ["email"]
    assert email.entities == [{"start": 12, "end": 32, "entity": "email", "value": "customer@example.com"}]
    assert "handoff" in email.reasons and "low confidence" in email.reasons
    track = next(i for i in items if i.message.event_id == seeded["track"])
    assert track.handoff  # from the handoffs table

    # a reviewer's label that disagrees with the model moves a confident message to the top
    book.annotate(inbox.find([track.key]), Verdict.LABEL, "cancel_order")
    items = inbox.items(InboxFilter(status="all"))
    assert items[0].message.event_id == seeded["track"] and "reviewer says cancel_order" in items[0].reasons
    assert seeded["track"] not in [i.message.event_id for i in inbox.items(InboxFilter(status="todo"))]
    assert [i.message.event_id for i in inbox.items(InboxFilter(status="done"))] == [seeded["track"]]


def test_inbox_filters(project: TrainingSettings, seeded: dict[str, int], sessions: sessionmaker[Session]) -> None:
    inbox = Inbox(project.tracker_url, sessions, AnnotationBook(sessions, project.domain))

    def ids(**kw: object) -> set[int]:
        return {i.message.event_id for i in inbox.items(InboxFilter(status="all", **kw))}  # type: ignore[arg-type]

    assert ids(channel="socketio") == {seeded["track"]}
    assert ids(intent="greet") == {seeded["hello"], seeded["email"], seeded["paused"]}
    assert ids(min_confidence=0.3, max_confidence=0.45) == {seeded["halt"], seeded["email"], seeded["kb"]}
    assert ids(text="SHIPMENT") == {seeded["halt"]}
    assert ids(text="jane.roe") == set()  # search runs on what is shown: redacted
    today = datetime.now(UTC).date()
    assert len(ids(since=today, until=today)) == 6
    assert ids(until=today.replace(year=today.year - 1)) == set()
    parsed = InboxFilter.from_args({"min_confidence": "0.2", "max_confidence": "7", "since": "nonsense",
                                    "status": "bogus", "q": " halt "})
    assert (parsed.min_confidence, parsed.max_confidence, parsed.since, parsed.status, parsed.text) == (
        0.2, 1.0, None, "todo", "halt")


def test_annotations_refuse_what_the_domain_lacks(project: TrainingSettings, seeded: dict[str, int],
                                                  sessions: sessionmaker[Session]) -> None:
    book = AnnotationBook(sessions, project.domain)
    inbox = Inbox(project.tracker_url, sessions, book)
    halt = inbox.find([f"lost:{seeded['halt']}"])
    with pytest.raises(AnnotationRefused, match="not an intent in the domain"):
        book.annotate(halt, Verdict.LABEL, "halt_shipment")
    with pytest.raises(AnnotationRefused, match="Unknown entity"):
        book.annotate(halt, Verdict.LABEL, "cancel_order", [Span(0, 6, "colour")])
    with pytest.raises(AnnotationRefused, match="whole words"):
        parse_spans('[{"start": 3, "end": 60, "entity": "email"}]', "short text")
    email = inbox.find([f"lost:{seeded['email']}"])
    book.annotate(email, Verdict.LABEL, "greet", parse_spans('[{"start": 12, "end": 32, "entity": "email"}]',
                                                             "my email is customer@example.com"))
    stored = book.all()[0]
    assert stored.text == "my email is customer@example.com"  # the original never reaches our tables
    assert stored.entities == (Span(12, 32, "email"),)
    assert inbox.find(["lost:999999", "garbage"]) == []


def test_conversation_as_test_story(project: TrainingSettings, seeded: dict[str, int],
                                    sessions: sessionmaker[Session]) -> None:
    import yaml

    book = AnnotationBook(sessions, project.domain)
    inbox = Inbox(project.tracker_url, sessions, book)
    book.annotate(inbox.find([f"lost:{seeded['halt']}"]), Verdict.LABEL, "cancel_order")
    text = story_yaml("lost", conversation_events(project.tracker_url, "lost"),
                      {a.event_id: a for a in book.all()})
    story = yaml.safe_load(text)
    steps = story["stories"][0]["steps"]
    assert story["version"] == "3.1" and story["stories"][0]["story"] == "from logs: lost"
    assert steps[0] == {"user": "please halt the shipment\n", "intent": "cancel_order"}  # the reviewer's label
    assert steps[1] == {"action": "utter_oos"}
    assert steps[2] == {"user": "my email is [customer@example.com](email)\n", "intent": "greet"}
    assert "jane.roe" not in text and "anyone" not in text  # redacted; the paused stretch is left out
    assert {"action": "action_handoff_to_human"} in steps
