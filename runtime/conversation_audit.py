"""Checks, from Rasa's tracker store, that every accepted customer message got exactly one bot turn, in order.

Used after load and fault runs (bench/load_benchmark.py, tests/scaleout/). The client side records what
each conversation sent and which messages the platform accepted; the tracker store (PostgreSQL or
SQLite, Rasa's `events` table) is the truth of what happened. A conversation is correct when:
- its `user` events are exactly the accepted messages, in the order sent (nothing lost, nothing extra);
- every `user` event is followed by at least one `bot` event before the next `user` event (one bot turn);
- no event is stored twice (same type, timestamp and body) and event timestamps never go backwards.
Messages the platform explicitly refused with a "please send it again" reply (nothing stored) are not
expected in the tracker; they are counted separately as refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, create_engine, text


@dataclass
class AuditReport:
    conversations: int = 0
    user_messages: int = 0
    bot_turns: int = 0
    lost_messages: int = 0
    extra_messages: int = 0
    misordered: int = 0
    missing_bot_turns: int = 0
    duplicated_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost_messages or self.extra_messages or self.misordered or self.missing_bot_turns
                    or self.duplicated_events)

    def summary(self) -> dict[str, int | bool]:
        return {"conversations": self.conversations, "user_messages": self.user_messages,
                "bot_turns": self.bot_turns, "lost": self.lost_messages, "extra": self.extra_messages,
                "misordered": self.misordered, "missing_bot_turns": self.missing_bot_turns,
                "duplicated_events": self.duplicated_events, "ok": self.ok}


def load_events(tracker_url: str, senders: Iterable[str]) -> dict[str, list[tuple[str, float, str]]]:
    """(type_name, timestamp, data) per sender, in storage order."""
    senders = list(senders)
    engine = create_engine(tracker_url)
    events: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    query = text("SELECT sender_id, type_name, timestamp, data FROM events WHERE sender_id IN :senders "
                 "ORDER BY id").bindparams(bindparam("senders", expanding=True))
    try:
        with engine.connect() as connection:
            for start in range(0, len(senders), 500):
                for sender, type_name, timestamp, data in connection.execute(query,
                                                                             {"senders": senders[start:start + 500]}):
                    events[sender].append((type_name, float(timestamp or 0), data or ""))
    finally:
        engine.dispose()
    return events


def audit_conversation(sender: str, expected: Sequence[str], events: Sequence[tuple[str, float, str]],
                       report: AuditReport) -> None:
    seen: set[tuple[str, float, str]] = set()
    last_timestamp = 0.0
    texts: list[str] = []
    turns: list[int] = []  # bot events after each user event
    for event in events:
        type_name, timestamp, data = event
        if event in seen:
            report.duplicated_events += 1
            report.problems.append(f"{sender}: duplicated {type_name} event at {timestamp}")
        seen.add(event)
        if timestamp + 1e-6 < last_timestamp:
            report.misordered += 1
            report.problems.append(f"{sender}: {type_name} event goes back in time")
        last_timestamp = max(last_timestamp, timestamp)
        if type_name == "user":
            texts.append(str(json.loads(data).get("text") or ""))
            turns.append(0)
        elif type_name == "bot" and turns:
            turns[-1] += 1
    report.conversations += 1
    report.user_messages += len(texts)
    report.bot_turns += sum(1 for count in turns if count)
    missing = sum(1 for count in turns if count == 0)
    if missing:
        report.missing_bot_turns += missing
        report.problems.append(f"{sender}: {missing} message(s) without a bot reply")
    if texts != list(expected):
        stored, wanted = list(texts), list(expected)
        lost = [t for t in wanted if t not in stored]
        extra = [t for t in stored if t not in wanted]
        report.lost_messages += max(len(wanted) - len(stored), 0) if not lost else len(lost)
        report.extra_messages += len(extra) if extra else max(len(stored) - len(wanted), 0)
        if not lost and not extra and len(stored) == len(wanted):
            report.misordered += 1
        report.problems.append(f"{sender}: stored {stored!r}, expected {wanted!r}")


def audit(tracker_url: str, accepted: Mapping[str, Sequence[str]]) -> AuditReport:
    """`accepted`: sender -> texts the platform accepted, in the order they were sent."""
    report = AuditReport()
    events = load_events(tracker_url, accepted)
    for sender, texts in accepted.items():
        audit_conversation(sender, texts, events.get(sender, []), report)
    return report


def read_client_log(paths: Iterable[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Accepted texts per sender from the load generator's JSON-lines log, plus outcome counts."""
    turns: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for path in paths:
        with open(path) as handle:
            for line in handle:
                record = json.loads(line)
                turns[record["sender"]].append((record["seq"], record["text"], record["outcome"]))
    accepted: dict[str, list[str]] = {}
    outcomes: dict[str, int] = defaultdict(int)
    for sender, rows in turns.items():
        rows.sort()
        accepted[sender] = [text for _, text, outcome in rows if outcome in ("answered", "degraded")]
        for _, _, outcome in rows:
            outcomes[outcome] += 1
    return accepted, dict(outcomes)
