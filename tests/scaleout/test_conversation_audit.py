"""The exactly-once audit itself must catch what it claims to: lost, extra, duplicated, unanswered, misordered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from runtime.conversation_audit import audit, read_client_log


@pytest.fixture
def tracker(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
                       "timestamp REAL, data TEXT)"))
    rows: list[tuple[str, str, float, str]] = []

    def add(sender: str, *turns: tuple[str, int]) -> None:
        t = 1000.0 + len(rows)
        for user_text, bot_replies in turns:
            t += 1
            rows.append((sender, "user", t, json.dumps({"event": "user", "text": user_text, "timestamp": t})))
            for i in range(bot_replies):
                rows.append((sender, "bot", t + 0.1 + i / 100, json.dumps({"event": "bot", "text": "ok"})))

    def write() -> str:
        with engine.begin() as c:
            for row in rows:
                c.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
                          dict(zip(("s", "t", "ts", "d"), row, strict=True)))
        return url

    yield add, write, rows
    engine.dispose()


def test_correct_conversations_pass(tracker) -> None:
    add, write, _ = tracker
    add("a", ("hi", 1), ("where is my order", 2))
    add("b", ("hello", 1))
    report = audit(write(), {"a": ["hi", "where is my order"], "b": ["hello"]})
    assert report.ok and report.user_messages == 3 and report.bot_turns == 3


def test_lost_unanswered_and_extra_messages_are_caught(tracker) -> None:
    add, write, _ = tracker
    add("lost", ("hi", 1))
    add("silent", ("hi", 0))
    add("extra", ("hi", 1), ("again", 1))
    report = audit(write(), {"lost": ["hi", "bye"], "silent": ["hi"], "extra": ["hi"]})
    assert not report.ok
    assert report.lost_messages == 1 and report.missing_bot_turns == 1 and report.extra_messages == 1


def test_duplicated_and_misordered_events_are_caught(tracker) -> None:
    add, write, rows = tracker
    add("dup", ("hi", 1))
    rows.append(rows[-1])  # the same bot event stored twice
    add("order", ("first", 1), ("second", 1))
    report = audit(write(), {"dup": ["hi"], "order": ["second", "first"]})
    assert report.duplicated_events == 1 and report.misordered == 1


def test_client_log_keeps_only_accepted_turns(tmp_path: Path) -> None:
    log = tmp_path / "turns-1.jsonl"
    lines = [{"sender": "s", "seq": 1, "text": "b", "outcome": "refused"},
             {"sender": "s", "seq": 0, "text": "a", "outcome": "answered"},
             {"sender": "s", "seq": 2, "text": "c", "outcome": "degraded"}]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    accepted, outcomes = read_client_log([str(log)])
    assert accepted == {"s": ["a", "c"]} and outcomes == {"refused": 1, "answered": 1, "degraded": 1}
