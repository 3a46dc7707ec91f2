"""Reviewers' verdicts on logged messages: confirm or change the intent, mark entities, ignore, out of scope.

Only the redacted text is stored, and an intent or entity the domain does not know is refused here (the
export checks again), so nothing the next `rasa data validate` would reject gets this far.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from training.logs import LoggedMessage
from training.redaction import redact
from training.tables import Annotation, Verdict


class AnnotationRefused(ValueError):
    """The verdict cannot be stored as given (the message says why)."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "entity": self.entity}


@dataclass(frozen=True)
class AnnotationView:
    id: int
    conversation_id: str
    event_id: int
    text: str
    predicted_intent: str
    verdict: str
    intent: str
    entities: tuple[Span, ...]
    exported: bool

    @property
    def label(self) -> str:
        """The intent it trains (out_of_scope for that verdict), or '' when ignored."""
        if self.verdict == Verdict.OUT_OF_SCOPE:
            return "out_of_scope"
        return self.intent if self.verdict == Verdict.LABEL else ""

    @property
    def disagrees(self) -> bool:
        return bool(self.label) and self.label != self.predicted_intent


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def domain_names(domain: Path) -> tuple[set[str], set[str]]:
    """Intents and entities the domain declares (entries may be plain names or one-key mappings)."""
    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}

    def names(items: Iterable[Any]) -> set[str]:
        out = set()
        for item in items or []:
            out.update(item.keys() if isinstance(item, dict) else [str(item)])
        return out

    return names(data.get("intents")), names(data.get("entities"))


def parse_spans(raw: Any, text: str) -> tuple[Span, ...]:
    """Entity spans from the browser ([{start, end, entity}]), checked against the text they mark."""
    if raw in (None, ""):
        return ()
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
        spans = [Span(int(i["start"]), int(i["end"]), str(i["entity"])) for i in items]
    except (ValueError, TypeError, KeyError) as exc:
        raise AnnotationRefused("The entity marks could not be read.") from exc
    spans.sort(key=lambda s: s.start)
    cursor = 0
    for span in spans:
        if not (cursor <= span.start < span.end <= len(text)) or text[span.start:span.end].strip() != text[
                span.start:span.end]:
            raise AnnotationRefused("Entity marks must cover whole words of the message and must not overlap.")
        cursor = span.end
    return tuple(spans)


def _view(a: Annotation) -> AnnotationView:
    spans = tuple(Span(s["start"], s["end"], s["entity"]) for s in json.loads(a.entities or "[]"))
    return AnnotationView(id=a.id, conversation_id=a.conversation_id, event_id=a.event_id, text=a.text,
                          predicted_intent=a.predicted_intent, verdict=a.verdict, intent=a.intent,
                          entities=spans, exported=a.exported_at is not None)


class AnnotationBook:
    def __init__(self, sessions: sessionmaker[Session], domain: Path) -> None:
        self.sessions = sessions
        self.domain = domain

    def check(self, verdict: Verdict, intent: str, spans: Sequence[Span]) -> None:
        intents, entities = domain_names(self.domain)
        if verdict == Verdict.LABEL and not intent:
            raise AnnotationRefused("Choose an intent first (or mark the message out of scope, or ignore it).")
        if verdict == Verdict.LABEL and intent not in intents:
            raise AnnotationRefused(f"“{intent}” is not an intent in the domain ({self.domain.name}); add it "
                                    "to the domain first or pick one of its intents.")
        unknown = sorted({s.entity for s in spans} - entities)
        if unknown:
            raise AnnotationRefused(f"Unknown entity {', '.join(unknown)}: the domain does not declare it.")

    def annotate(self, messages: Sequence[LoggedMessage], verdict: Verdict | str, intent: str = "",
                 spans: Sequence[Span] = (), agent_id: int | None = None) -> int:
        """Store one verdict for each message (entity spans only for a single message); returns the count."""
        verdict = Verdict(verdict)
        intent = intent.strip() if verdict == Verdict.LABEL else ""
        if spans and len(messages) != 1:
            raise AnnotationRefused("Entities can only be marked on one message at a time.")
        self.check(verdict, intent, spans)
        now = utcnow()
        keys = [(m.conversation_id, m.event_id) for m in messages]
        with self.sessions.begin() as s:
            existing = {(a.conversation_id, a.event_id): a for a in s.scalars(
                select(Annotation).where(tuple_(Annotation.conversation_id, Annotation.event_id).in_(keys)))
            } if keys else {}
            for m in messages:
                a = existing.get((m.conversation_id, m.event_id))
                if a is None:
                    a = Annotation(conversation_id=m.conversation_id, event_id=m.event_id, created_at=now,
                                   text=redact(m.text).text, predicted_intent=m.intent,
                                   predicted_confidence=m.confidence)
                    s.add(a)
                a.verdict, a.intent, a.annotated_by_id, a.updated_at = verdict, intent, agent_id, now
                if len(messages) == 1:  # a bulk verdict keeps each message's own entity marks
                    a.entities = json.dumps([span.as_json() for span in spans])
                a.exported_at = None
        return len(messages)

    def clear(self, conversation_id: str, event_id: int) -> None:
        with self.sessions.begin() as s:
            a = s.scalar(select(Annotation).where(Annotation.conversation_id == conversation_id,
                                                  Annotation.event_id == event_id))
            if a is not None:
                s.delete(a)

    def for_messages(self, messages: Iterable[LoggedMessage]) -> dict[tuple[str, int], AnnotationView]:
        keys = [(m.conversation_id, m.event_id) for m in messages]
        if not keys:
            return {}
        out: dict[tuple[str, int], AnnotationView] = {}
        with self.sessions() as s:
            for chunk in (keys[i:i + 400] for i in range(0, len(keys), 400)):
                for a in s.scalars(select(Annotation).where(
                        tuple_(Annotation.conversation_id, Annotation.event_id).in_(chunk))):
                    out[(a.conversation_id, a.event_id)] = _view(a)
        return out

    def all(self) -> list[AnnotationView]:
        """Newest first: when two reviewers labelled the same text differently, the latest verdict wins."""
        with self.sessions() as s:
            return [_view(a) for a in s.scalars(select(Annotation).order_by(Annotation.updated_at.desc(),
                                                                             Annotation.id.desc()))]

    def mark_exported(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self.sessions.begin() as s:
            for a in s.scalars(select(Annotation).where(Annotation.id.in_(ids))):
                a.exported_at = utcnow()
