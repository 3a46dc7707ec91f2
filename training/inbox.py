"""The review inbox: logged customer messages, what became of them, and the most useful ones first.

Useful = what the model most likely got wrong or could not handle: low confidence, a fallback (NLU
fallback, out_of_scope, core fallback, knowledge-base miss), a handoff to a person, an agent stepping in,
and above all a reviewer's label that disagrees with the model. Everything shown is redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from console.models import Handoff
from training.annotations import AnnotationBook, AnnotationView
from training.logs import LoggedMessage, read_messages
from training.redaction import redact

PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxFilter:
    since: date | None = None
    until: date | None = None  # inclusive
    channel: str = ""
    intent: str = ""
    min_confidence: float | None = None
    max_confidence: float | None = None
    text: str = ""
    status: str = "todo"  # todo (not reviewed yet) | done | all

    @classmethod
    def from_args(cls, args: Any) -> InboxFilter:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, "")) if args.get(name) else None
            except ValueError:
                return None

        def number(name: str) -> float | None:
            try:
                return min(1.0, max(0.0, float(args[name]))) if args.get(name) not in (None, "") else None
            except ValueError:
                return None

        status = args.get("status", "todo")
        return cls(since=day("since"), until=day("until"), channel=args.get("channel", "").strip(),
                   intent=args.get("intent", "").strip(), min_confidence=number("min_confidence"),
                   max_confidence=number("max_confidence"), text=args.get("q", "").strip()[:200],
                   status=status if status in ("todo", "done", "all") else "todo")


@dataclass
class InboxItem:
    message: LoggedMessage
    text: str  # redacted
    redacted: list[str]  # kinds of personal data that were replaced
    entities: list[dict[str, Any]]  # predicted, offsets in the redacted text
    replies: list[str]  # redacted
    handoff: bool
    annotation: AnnotationView | None
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.message.conversation_id}:{self.message.event_id}"


def _timestamp(day: date | None, end: bool = False) -> float | None:
    if day is None:
        return None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)
    return moment.timestamp()


def _item(m: LoggedMessage, handoff_texts: set[tuple[str, str]], annotation: AnnotationView | None) -> InboxItem:
    red = redact(m.text)
    entities = []
    for e in m.entities:
        try:
            span = red.map_span(int(e["start"]), int(e["end"]))
        except (KeyError, TypeError, ValueError):
            span = None
        if span:
            entities.append({"start": span[0], "end": span[1], "entity": str(e.get("entity", "")),
                             "value": red.text[span[0]:span[1]]})
    handoff = m.handoff or (m.conversation_id, m.text[:500]) in handoff_texts
    item = InboxItem(message=m, text=red.text, redacted=red.kinds, entities=entities,
                     replies=[redact(r).text for r in m.replies], handoff=handoff, annotation=annotation)
    _score(item)
    return item


def _score(item: InboxItem) -> None:
    m, reasons = item.message, item.reasons
    score = 1.0 - m.confidence
    if m.confidence < 0.6:
        reasons.append("low confidence")
    if m.fallback:
        score += 1.0
        reasons.append(m.fallback.replace("_", " "))
    if item.handoff:
        score += 0.8
        reasons.append("handoff")
    if m.agent_replied:
        score += 0.5
        reasons.append("agent stepped in")
    if item.annotation is not None and item.annotation.disagrees:
        score += 1.5
        reasons.append(f"reviewer says {item.annotation.label}")
    item.score = round(score, 3)


def _wanted(item: InboxItem, f: InboxFilter) -> bool:
    m = item.message
    if f.channel and m.channel != f.channel:
        return False
    if f.min_confidence is not None and m.confidence < f.min_confidence:
        return False
    if f.max_confidence is not None and m.confidence > f.max_confidence:
        return False
    if f.text and f.text.casefold() not in item.text.casefold():
        return False
    if f.status == "todo" and item.annotation is not None:
        return False
    return not (f.status == "done" and item.annotation is None)


class Inbox:
    def __init__(self, tracker_url: str, sessions: sessionmaker[Session], book: AnnotationBook,
                 scan_limit: int = 5000) -> None:
        self.tracker_url = tracker_url
        self.sessions = sessions
        self.book = book
        self.scan_limit = scan_limit

    def _handoff_texts(self, conversations: Sequence[str]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        with self.sessions() as s:
            for chunk in (list(conversations)[i:i + 500] for i in range(0, len(conversations), 500)):
                rows = s.execute(select(Handoff.conversation_id, Handoff.last_message)
                                 .where(Handoff.conversation_id.in_(chunk)))
                out.update((c, t) for c, t in rows)
        return out

    def items(self, f: InboxFilter | None = None) -> list[InboxItem]:
        """Every message the filter keeps, most useful first (ties: newest first)."""
        f = f or InboxFilter()
        messages = read_messages(self.tracker_url, since=_timestamp(f.since), until=_timestamp(f.until, end=True),
                                 intent=f.intent, limit=self.scan_limit)
        annotations = self.book.for_messages(messages)
        handoffs = self._handoff_texts(sorted({m.conversation_id for m in messages}))
        items = [_item(m, handoffs, annotations.get((m.conversation_id, m.event_id))) for m in messages]
        kept = [i for i in items if _wanted(i, f)]
        return sorted(kept, key=lambda i: (-i.score, -i.message.event_id))

    def find(self, keys: Sequence[str]) -> list[LoggedMessage]:
        """Messages by `conversation:event_id` key (the inbox's form values)."""
        wanted: set[tuple[str, int]] = set()
        for key in keys:
            conversation, _, event_id = str(key).rpartition(":")
            if conversation and event_id.isdigit():
                wanted.add((conversation, int(event_id)))
        if not wanted:
            return []
        found = read_messages(self.tracker_url, ids=sorted({e for _, e in wanted}), limit=len(wanted))
        return [m for m in found if (m.conversation_id, m.event_id) in wanted]


def page(items: Sequence[InboxItem], number: int, size: int = PAGE_SIZE) -> tuple[list[InboxItem], int]:
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    return list(items[(number - 1) * size:number * size]), pages
