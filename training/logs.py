"""Read conversations straight from Rasa's SQL tracker store, so the review never works on a stale copy.

Rasa's `SQLTrackerStore` keeps one row per event in the `events` table (id, sender_id, type_name,
timestamp, intent_name, action_name, data = the event as JSON). The same table serves SQLite (embedded
profile) and PostgreSQL (scale-out); it is declared here with SQLAlchemy Core and only ever read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, create_engine, inspect, select

from bot.handoff_triggers import HANDOFF_ACTION, KB_MISSES_SLOT, MISS_INTENTS
from store.db import pool_settings

metadata = MetaData()
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback"})
KB_ACTION = "action_answer_from_knowledge"
AGENT_KEY = "shopdesk_agent"  # console.transcript: bot events an agent sent carry it in their metadata
SKIP_INTENTS = frozenset({"invalid_input", "share_image"})  # set by the input guard / the widget, not NLU


@cache
def tracker_engine(url: str) -> Engine:
    """Rasa's database, read as it is: no WAL switch or other pragmas as for the store (store.db)."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True, **pool_settings())


def tracker_exists(url: str, engine: Engine) -> bool:
    """False before Rasa stored its first conversation (no file yet, or no `events` table)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not Path(path).exists():
            return False
    return inspect(engine).has_table("events")


@dataclass
class LoggedMessage:
    """One customer message and what followed it in its turn (until the next customer message)."""

    event_id: int
    conversation_id: str
    timestamp: float
    text: str
    channel: str
    intent: str
    confidence: float
    entities: list[dict[str, Any]]
    ranking: list[tuple[str, float]] = field(default_factory=list)  # the model's intents, best first
    replies: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    kb_miss: bool = False
    handoff: bool = False
    agent_replied: bool = False

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)

    @property
    def fallback(self) -> str:
        """Why the bot could not place it: the intent, a fallback action, a knowledge-base miss; or ''."""
        if self.intent in MISS_INTENTS:
            return self.intent
        if any(a in FALLBACK_ACTIONS for a in self.actions):
            return "core_fallback"
        return "kb_miss" if self.kb_miss else ""


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _message(row: Any, data: dict[str, Any]) -> LoggedMessage:
    parse_data = data.get("parse_data") if isinstance(data.get("parse_data"), dict) else {}
    intent = parse_data.get("intent") if isinstance(parse_data.get("intent"), dict) else {}
    entities = [e for e in parse_data.get("entities") or [] if isinstance(e, dict)]
    ranking = []
    for entry in parse_data.get("intent_ranking") or []:
        with suppress(AttributeError, KeyError, TypeError, ValueError):
            ranking.append((str(entry["name"]), float(entry.get("confidence") or 0.0)))
    return LoggedMessage(
        event_id=row.id, conversation_id=row.sender_id, timestamp=float(row.timestamp or 0.0),
        text=str(data.get("text") or ""), channel=str(data.get("input_channel") or ""),
        intent=str(intent.get("name") or row.intent_name or ""),
        confidence=float(intent.get("confidence") or 0.0), entities=entities, ranking=ranking)


def _follow(message: LoggedMessage, type_name: str, data: dict[str, Any]) -> None:
    if type_name == "bot":
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        if metadata.get(AGENT_KEY) and metadata.get(AGENT_KEY) != "system":
            message.agent_replied = True
        elif data.get("text"):
            message.replies.append(str(data["text"]))
    elif type_name == "action":
        name = str(data.get("name") or "")
        if name and name != "action_listen":
            message.actions.append(name)
        if name == HANDOFF_ACTION:
            message.handoff = True
    elif type_name == "slot" and data.get("name") == KB_MISSES_SLOT and KB_ACTION in message.actions:
        with suppress(TypeError, ValueError):
            message.kb_miss = float(data.get("value") or 0) > 0
    elif type_name == "pause":
        message.handoff = True


def read_messages(url: str, since: float | None = None, until: float | None = None, intent: str = "",
                  limit: int = 5000, ids: Sequence[int] | None = None, engine: Engine | None = None
                  ) -> list[LoggedMessage]:
    """The latest `limit` customer messages (newest first) with their turns, by time, intent or event id."""
    engine = engine or tracker_engine(url)
    if not tracker_exists(url, engine):
        return []
    query = select(events.c.id, events.c.sender_id, events.c.timestamp, events.c.intent_name,
                   events.c.data).where(events.c.type_name == "user")
    if since is not None:
        query = query.where(events.c.timestamp >= since)
    if until is not None:
        query = query.where(events.c.timestamp < until)
    if intent:
        query = query.where(events.c.intent_name == intent)
    if ids is not None:
        query = query.where(events.c.id.in_(list(ids)))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(events.c.id.desc()).limit(limit)).all()
        messages = []
        for row in rows:
            data = _json(row.data)
            if data.get("text") and row.intent_name not in SKIP_INTENTS:
                messages.append(_message(row, data))
        if messages:
            _attach_turns(connection, messages)
    return messages


def _attach_turns(connection: Any, messages: Sequence[LoggedMessage]) -> None:
    """Fills in what each message led to, from the same conversations' later events."""
    by_sender: dict[str, list[LoggedMessage]] = defaultdict(list)
    for m in messages:
        by_sender[m.conversation_id].append(m)
    first_id = min(m.event_id for m in messages)
    senders = list(by_sender)
    for chunk in (senders[i:i + 500] for i in range(0, len(senders), 500)):
        rows = connection.execute(
            select(events.c.id, events.c.sender_id, events.c.type_name, events.c.data)
            .where(events.c.sender_id.in_(chunk), events.c.id > first_id,
                   events.c.type_name.in_(("user", "bot", "action", "slot", "pause")))
            .order_by(events.c.id)).all()
        wanted = {m.event_id: m for sender in chunk for m in by_sender[sender]}
        # Each conversation starts in its earliest wanted turn (the very first one's own row is not fetched).
        current: dict[str, LoggedMessage | None] = {
            sender: min(by_sender[sender], key=lambda m: m.event_id) for sender in chunk}
        for row in rows:
            if row.type_name == "user":
                current[row.sender_id] = wanted.get(row.id)
                continue
            message = current.get(row.sender_id)
            if message is not None and row.id > message.event_id:
                _follow(message, row.type_name, _json(row.data))


def conversation_events(url: str, conversation_id: str, engine: Engine | None = None
                        ) -> list[tuple[int, dict[str, Any]]]:
    """(event id, event in Rasa's JSON shape) for one conversation, oldest first."""
    engine = engine or tracker_engine(url)
    if not tracker_exists(url, engine):
        return []
    with engine.connect() as connection:
        rows = connection.execute(select(events.c.id, events.c.data).where(events.c.sender_id == conversation_id)
                                  .order_by(events.c.id)).all()
    return [(row.id, _json(row.data)) for row in rows]


def channels(messages: Iterable[LoggedMessage]) -> list[str]:
    return sorted({m.channel for m in messages if m.channel})
