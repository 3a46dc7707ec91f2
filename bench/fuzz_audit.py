"""The fuzz run's verdicts: what the channels acknowledged against what Rasa's tracker store holds, and whether
every stack process is still the same healthy process (no I/O into the channels here).

"Exactly once": an acknowledged message (REST 200, webhook 200 "ok", socket.io ack "received") is stored once as a
`user` event under its channel's conversation id; a resend acknowledged "duplicate" is not stored again; a
refused one (4xx, a "rejected" ack, a refused connection) is stored 0 times. Messages are matched by message id
where the channel keeps one (socket.io, webhook), by text within the conversation otherwise (REST).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fuzz_plan import ACCEPT, DUPLICATE, REJECT

# ---- results and the exactly-once accounting ----------------------------------------------------------------


@dataclass
class Result:
    channel: str
    kind: str
    expect: str
    outcome: str                     # accepted|duplicate|rejected|error|timeout|transport|absorbed (engine.io 200)
    status: str                      # "200", "401", "ack:received", "timeout", "connect_refused", ...
    latency_s: float | None = None
    conversations: tuple[str, ...] = ()   # where it must be stored when accepted (first: the contract's id)
    message_id: str | None = None
    text: str | None = None          # the text as Rasa stores it (stripped)
    victim: str | None = None        # a conversation it must never reach
    detail: str = ""


@dataclass
class StoredMessage:
    sender: str
    text: str | None
    message_id: str | None


@dataclass
class Accounting:
    accepted: int = 0                # distinct accepted messages
    stored_once: int = 0
    lost: int = 0                    # accepted, not stored
    duplicated: int = 0              # stored more than once (extra copies)
    misrouted: int = 0               # stored under a conversation it was not sent to
    off_contract_id: int = 0         # stored under the sender's bare id instead of its channel's id (e.g. no `rest:`)
    altered: int = 0                 # stored once, but with other text than sent (a channel normalised it)
    rejected_stored: int = 0         # refused, yet stored
    takeovers: int = 0               # written into a conversation it had no right to
    unattributed: int = 0            # stored with the run's tag, matching no sent message
    stored_after_error: int = 0      # stored although the answer was a 5xx/timeout (informational)
    other_traffic: int = 0           # user events of other clients (attach mode only)
    examples: list[str] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return not (self.lost or self.duplicated or self.misrouted)

    def note(self, text: str) -> None:
        if len(self.examples) < 25:
            self.examples.append(text)


def short(value: Any, limit: int = 60) -> str:
    """A conversation id or text for a report line (senders can be 100k characters long)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(str(value))} chars)"


def stored_text(text: Any) -> str | None:
    return text.strip() if isinstance(text, str) else None


def account(results: Sequence[Result], stored: Sequence[StoredMessage], tag: str, private: bool = False) -> Accounting:
    """Compare what the channels acknowledged with the tracker store's user events (see the module docstring).

    `private`: the tracker store holds only this run's conversations, so every user event must be explained."""
    acc = Accounting()
    accepted_mids: dict[str, Result] = {}
    for r in results:
        if r.outcome == "accepted" and r.message_id:
            accepted_mids.setdefault(r.message_id, r)
    rejected_mids = {r.message_id: r for r in results
                     if r.outcome == "rejected" and r.message_id and r.message_id not in accepted_mids}
    unknown_mids = {r.message_id for r in results if r.outcome in ("error", "timeout", "transport")
                    and r.message_id and r.message_id not in accepted_mids}
    home: dict[str, str] = {}
    for r in results:
        for conversation in r.conversations:
            home.setdefault(conversation, r.conversations[0])
    expected_texts: dict[str, Counter[str]] = defaultdict(Counter)
    rejected_texts: dict[str, Counter[str]] = defaultdict(Counter)
    unknown_texts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        if not r.conversations or r.text is None or (r.message_id and r.outcome == "accepted"):
            continue
        group = r.conversations[0]
        if r.outcome == "accepted":
            expected_texts[group][r.text] += 1
        elif r.outcome == "rejected" and not (r.message_id and r.message_id in rejected_mids):
            rejected_texts[group][r.text] += 1
        elif r.outcome in ("error", "timeout", "transport"):
            unknown_texts[group][r.text] += 1
    victims: Counter[tuple[str, str | None]] = Counter((r.victim, r.text) for r in results if r.victim and r.text)
    acc.accepted = len(accepted_mids) + sum(sum(c.values()) for c in expected_texts.values())

    seen_mids: Counter[str] = Counter()
    remaining: dict[str, list[StoredMessage]] = defaultdict(list)
    for event in stored:
        mid = event.message_id
        if mid and mid in accepted_mids:
            r = accepted_mids[mid]
            seen_mids[mid] += 1
            if event.sender not in r.conversations:
                if r.victim and event.sender == r.victim:
                    acc.takeovers += 1
                    acc.note(f"takeover: {r.channel} {r.kind} {mid} stored in victim {short(event.sender)}")
                else:
                    acc.misrouted += 1
                    acc.note(f"misrouted: {r.channel} {r.kind} {mid} stored in {short(event.sender)}, "
                             f"sent to {short(r.conversations[:1])}")
            elif event.sender != r.conversations[0]:
                acc.off_contract_id += 1
            if r.text is not None and event.text != r.text and seen_mids[mid] == 1:
                acc.altered += 1
        elif mid and mid in rejected_mids:
            r = rejected_mids[mid]
            acc.rejected_stored += 1
            acc.note(f"refused but stored: {r.channel} {r.kind} ({r.status}) {mid} in {short(event.sender)}")
            if r.victim and event.sender == r.victim:
                acc.takeovers += 1
        elif mid and mid in unknown_mids:
            acc.stored_after_error += 1
        elif victims[(event.sender, event.text)] > 0:
            victims[(event.sender, event.text)] -= 1
            acc.takeovers += 1
            acc.note(f"takeover: a message sent elsewhere stored in {short(event.sender)}: {str(event.text)[:60]!r}")
        elif event.sender in home:
            if event.sender != home[event.sender]:
                acc.off_contract_id += 1
            remaining[home[event.sender]].append(event)
        elif private or tag in event.sender or (mid and tag in mid):
            acc.unattributed += 1
            acc.note(f"stored but never accepted: {short(event.sender)} {str(event.text)[:60]!r}")
        else:
            acc.other_traffic += 1
    for mid, r in accepted_mids.items():
        if seen_mids[mid] == 0:
            acc.lost += 1
            acc.note(f"lost: {r.channel} {r.kind} {mid} acknowledged {r.status}, not in {short(r.conversations[:1])}")
        elif seen_mids[mid] > 1:
            acc.duplicated += seen_mids[mid] - 1
            acc.note(f"duplicated: {r.channel} {r.kind} {mid} stored {seen_mids[mid]} times")
        else:
            acc.stored_once += 1

    for group in set(expected_texts) | set(remaining):
        want = expected_texts.get(group, Counter())
        got = Counter(event.text for event in remaining.get(group, []))
        acc.duplicated += sum(max(got[t] - n, 0) for t, n in want.items())
        missing = sum((want - got).values())
        acc.stored_once += sum(min(got[t], n) for t, n in want.items())
        extra = [t for t in got.elements() if t not in want]
        left: list[str | None] = []
        for text in extra:
            if rejected_texts[group][text] > 0:
                rejected_texts[group][text] -= 1
                acc.rejected_stored += 1
                acc.note(f"refused but stored: {short(group)} {str(text)[:60]!r}")
            elif unknown_texts[group][text] > 0:
                unknown_texts[group][text] -= 1
                acc.stored_after_error += 1
            else:
                left.append(text)
        altered = min(len(left), missing)
        acc.altered += altered
        acc.stored_once += altered
        acc.lost += missing - altered
        if missing - altered:
            acc.note(f"lost: {missing - altered} accepted message(s) of {short(group)} not stored")
        if len(left) - altered:
            acc.unattributed += len(left) - altered
            acc.note(f"stored but never accepted: {len(left) - altered} in {short(group)}, e.g. {str(left[0])[:60]!r}")
    return acc


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def expectation_mismatches(results: Iterable[Result]) -> tuple[Counter[str], Counter[str]]:
    """(must-refuse probes that were accepted, valid messages that were refused), by channel/kind."""
    wrongly_accepted: Counter[str] = Counter()
    wrongly_refused: Counter[str] = Counter()
    for r in results:
        if r.expect in (REJECT, DUPLICATE) and r.outcome == "accepted":
            wrongly_accepted[f"{r.channel} {r.kind}"] += 1
        elif r.expect == ACCEPT and r.outcome == "rejected":
            wrongly_refused[f"{r.channel} {r.kind}"] += 1
    return wrongly_accepted, wrongly_refused


# ---- processes: alive, healthy, not restarted ---------------------------------------------------------------


@dataclass
class Watched:
    name: str
    health_url: str
    port: int | None
    pid: int | None = None
    started: str | None = None       # /proc/<pid>/stat start time: a reused pid is not the same process
    first_failure_s: float | None = None


def proc_start(pid: int | None) -> str | None:
    if not pid:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[19] if fields[0] not in ("Z", "X") else None


def listener_pid(port: int | None) -> int | None:
    """The process listening on 127.0.0.1:`port` (Linux /proc; our own user's processes only)."""
    if not port:
        return None
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(fd_dir.parent.name)
        except OSError:
            continue
    return None


def healthy(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False


def process_state(watched: Sequence[Watched]) -> list[dict[str, Any]]:
    rows = []
    for w in watched:
        alive = w.pid is not None and proc_start(w.pid) == w.started
        listener = listener_pid(w.port)
        rows.append({"name": w.name, "pid": w.pid, "alive": alive, "healthy": healthy(w.health_url),
                     "listener_pid": listener, "restarted": bool(w.pid and listener and listener != w.pid),
                     "first_failure_s": w.first_failure_s})
    return rows


async def watch_processes(watched: Sequence[Watched], t0: float, stop: asyncio.Event) -> None:
    """Notes when a process first died (sampled every 2 s; the end-of-run check is the verdict)."""
    while not stop.is_set():
        for w in watched:
            if w.first_failure_s is None and w.pid and proc_start(w.pid) != w.started:
                w.first_failure_s = round(time.monotonic() - t0, 1)
                from tqdm import tqdm

                tqdm.write(f"!! {w.name} (pid {w.pid}) is gone after {w.first_failure_s}s")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=2)


# ---- the tracker store --------------------------------------------------------------------------------------


def tracker_max_id(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar() or 0)
    except Exception:
        return 0  # no table yet: Rasa creates it on its first write
    finally:
        engine.dispose()


def wait_until_quiet(url: str, quiet_s: float = 4, max_s: float = 120) -> float:
    """Seconds waited until the events table stopped growing (socket.io messages finish after their ack)."""
    start, last, since = time.monotonic(), -1, time.monotonic()
    while time.monotonic() - start < max_s:
        current = tracker_max_id(url)
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
        time.sleep(0.5)
    return round(time.monotonic() - start, 1)


def read_user_events(url: str, after_id: int) -> list[StoredMessage]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out = []
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT sender_id, data FROM events WHERE type_name = 'user' AND id > :i "
                                           "ORDER BY id"), {"i": after_id})
            for sender, data in rows:
                try:
                    body = json.loads(data or "{}")
                except ValueError:
                    body = {}
                mid = body.get("message_id")
                out.append(StoredMessage(str(sender), stored_text(body.get("text")),
                                         mid if isinstance(mid, str) else None))
    finally:
        engine.dispose()
    return out
