"""Run the conversation suite's YAML conversations end to end and grade them: the library behind both the
pytest subset (test_conversations.py) and the full benchmark (bench/conversation_benchmark.py).

A conversation talks to the real REST channel the way a shop's backend does (runtime/chat_client.py:
bearer SHOPDESK_REST_TOKEN, conversation `rest:<sender>`); a signed-in one also sends a customer token
bound to that conversation in every message's metadata. Each turn's reply is checked (`any`, `all`,
`none`, `regex`, plus global checks: a non-empty reply, no "didn't understand" unless the turn allows it,
nothing of the other customer's), then the database after the last turn (`db:`).

Grades: success = every check passed; partial = the conversation's own database checks all passed but a
reply check failed (only conversations that declare `db:` checks can be partial); failure otherwise.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from runtime.chat_client import REST_PATH, conversation_id
from store.db import make_engine
from store.models import Order
from store.tokens import METADATA_KEY, issue_customer_token
from tests.conversations.fixtures import Fixture, FixtureSpec, create_fixture, placeholder_names

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES = ("track", "cancel", "change_address", "returns", "refunds", "invoices", "list_orders",
              "policy_questions", "handoff_contact", "switches_corrections", "early_combined_entities",
              "multi_request", "angry", "signed_in", "tweets", "recommendations_products", "small_talk_bad_input")
# Replies that mean the bot gave up on the message (allowed only where a turn says `allow_fallback: true`).
FALLBACK_PHRASES = ("didn't quite understand", "doesn't look like an order number")
TURN_KEYS = {"user", "any", "all", "none", "regex", "allow_fallback", "note"}
DB_KEYS = {"order_status", "address_contains", "return_opened", "no_changes", "unchanged", "handoff",
           "message_for_team", "no_return"}
CONVERSATION_KEYS = {"id", "description", "ci", "fixture", "turns", "db"}
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
SUCCESS, PARTIAL, FAILURE = "success", "partial", "failure"


class Stack(Protocol):
    """What the runner needs of a running stack (runtime.stack.StackConfig has it)."""

    @property
    def rasa_url(self) -> str: ...

    database_url: str

    def env(self) -> dict[str, str]: ...


# --- the YAML --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    user: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    allow_fallback: bool = False


@dataclass(frozen=True)
class Conversation:
    id: str
    category: str
    turns: tuple[Turn, ...]
    fixture: FixtureSpec = field(default_factory=FixtureSpec)
    db: dict[str, Any] = field(default_factory=dict)
    ci: bool = False
    description: str = ""


class SuiteError(ValueError):
    """A conversation file that doesn't follow the format; the message names the file and conversation."""


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int, float)):
        return (str(value),)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise SuiteError(f"{where}: expected a string or a list of strings, got {value!r}")


def _turn(raw: object, where: str) -> Turn:
    if isinstance(raw, str):
        return Turn(user=raw)
    if not isinstance(raw, dict) or "user" not in raw:
        raise SuiteError(f"{where}: a turn is a string or a mapping with `user`")
    if unknown := set(raw) - TURN_KEYS:
        raise SuiteError(f"{where}: unknown turn keys {sorted(unknown)}")
    regex = _strings(raw.get("regex"), where)
    for pattern in regex:
        try:
            re.compile(pattern)
        except re.error as error:
            raise SuiteError(f"{where}: bad regex {pattern!r}: {error}") from error
    return Turn(user=str(raw["user"]), any=_strings(raw.get("any"), where), all=_strings(raw.get("all"), where),
                none=_strings(raw.get("none"), where), regex=regex, allow_fallback=bool(raw.get("allow_fallback")))


def _conversation(raw: object, category: str, where: str) -> Conversation:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("turns"):
        raise SuiteError(f"{where}: a conversation needs `id` and `turns`")
    where = f"{where} ({raw['id']})"
    if unknown := set(raw) - CONVERSATION_KEYS:
        raise SuiteError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        spec = FixtureSpec.parse(raw.get("fixture"))
    except ValueError as error:
        raise SuiteError(f"{where}: {error}") from error
    db = raw.get("db") or {}
    if not isinstance(db, dict) or (unknown := set(db) - DB_KEYS):
        raise SuiteError(f"{where}: `db` must be a mapping of {sorted(DB_KEYS)}")
    turns = tuple(_turn(t, f"{where} turn {i}") for i, t in enumerate(raw["turns"], start=1))
    conversation = Conversation(id=str(raw["id"]), category=category, turns=turns, fixture=spec, db=db,
                                ci=bool(raw.get("ci")), description=str(raw.get("description") or ""))
    missing = used_placeholders(conversation) - placeholder_names(spec)
    if missing:
        raise SuiteError(f"{where}: placeholders {sorted(missing)} are not defined by fixture {spec.orders}")
    return conversation


def used_placeholders(conversation: Conversation) -> set[str]:
    texts = [text for turn in conversation.turns
             for text in (turn.user, *turn.any, *turn.all, *turn.none, *turn.regex)]
    texts += _db_texts(conversation.db)
    return {m.group(1) for text in texts for m in PLACEHOLDER.finditer(text)}


def _db_texts(db: dict[str, Any]) -> list[str]:
    """Texts of `db:` checks as placeholders: orders are named without braces (`order`, `order2`,
    `others_order`), expected substrings may contain {placeholders}."""
    texts: list[str] = []
    for key in ("order_status", "address_contains"):
        texts += ["{" + str(ref) + "}" for ref in db.get(key) or {}]
    for key in ("return_opened", "no_return", "unchanged"):
        texts += ["{" + ref + "}" for ref in _refs(db.get(key))]
    for value in (db.get("address_contains") or {}).values():
        texts += list(_strings(value, "address_contains"))
    if isinstance(db.get("message_for_team"), (str, list)):
        texts += list(_strings(db["message_for_team"], "message_for_team"))
    return texts


def load_file(path: Path) -> list[Conversation]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SuiteError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("conversations"), list):
        raise SuiteError(f"{path.name}: expected a mapping with a `conversations` list")
    category = str(raw.get("category") or path.stem)
    return [_conversation(c, category, f"{path.name}#{i}") for i, c in enumerate(raw["conversations"], start=1)]


def load_conversations(directory: Path = DATA_DIR, categories: list[str] | None = None) -> list[Conversation]:
    """Every conversation of the suite (or of `categories`), in file then file order; ids must be unique."""
    conversations = [c for path in sorted(directory.glob("*.yml")) for c in load_file(path)]
    seen: set[str] = set()
    for conversation in conversations:
        if conversation.id in seen:
            raise SuiteError(f"conversation id {conversation.id} is used twice")
        seen.add(conversation.id)
    if categories:
        conversations = [c for c in conversations if c.category in categories]
    return conversations


# --- running -------------------------------------------------------------------------------------------------


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {placeholders} the fixture defines; anything else in braces (JSON payloads) stays as it is."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def reply_text(messages: list[dict[str, Any]]) -> str:
    """Everything a customer sees in the bot's messages: texts, custom payload texts, button titles."""
    parts: list[str] = []
    for message in messages:
        parts.append(str(message.get("text") or ""))
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("text"):
            parts.append(str(custom["text"]))
        for button in message.get("buttons") or []:
            parts.append(f"[{button.get('title', '')}]({button.get('payload', '')})")
    return "\n".join(p for p in parts if p).strip()


@dataclass
class TurnRecord:
    user: str
    bot: str
    seconds: float
    failures: list[str] = field(default_factory=list)


@dataclass
class Result:
    conversation: Conversation
    grade: str
    reasons: list[str]
    transcript: list[TurnRecord]
    seconds: float
    sender: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.conversation.id, "category": self.conversation.category, "grade": self.grade,
                "reasons": self.reasons, "seconds": round(self.seconds, 2), "conversation_id": self.sender,
                "transcript": [{"user": t.user, "bot": t.bot, "seconds": round(t.seconds, 2), "failures": t.failures}
                               for t in self.transcript]}

    def transcript_text(self) -> str:
        lines = []
        for turn in self.transcript:
            lines.append(f"  user: {turn.user}")
            lines += [f"   bot: {line}" for line in (turn.bot or "<no reply>").splitlines()]
            lines += [f"   !! {failure}" for failure in turn.failures]
        return "\n".join(lines)


def check_reply(turn: Turn, reply: str, values: dict[str, str], mentioned: str) -> list[str]:
    """Why this reply fails the turn's checks and the global ones ([] when it passes)."""
    low = reply.lower()
    failures = []
    if not reply:
        return ["empty reply"]
    if not turn.allow_fallback:
        failures += [f"fallback reply ({phrase!r})" for phrase in FALLBACK_PHRASES if phrase in low]
    if turn.any and not any(fill(s, values).lower() in low for s in turn.any):
        failures.append(f"none of {[fill(s, values) for s in turn.any]} in the reply")
    failures += [f"{fill(s, values)!r} missing from the reply" for s in turn.all if fill(s, values).lower() not in low]
    failures += [f"{fill(s, values)!r} should not be in the reply" for s in turn.none if fill(s, values).lower() in low]
    failures += [f"reply does not match /{p}/" for p in turn.regex if not re.search(fill(p, values), reply, re.I)]
    failures += other_customer_leaks(reply, values, mentioned)
    return failures


def other_customer_leaks(reply: str, values: dict[str, str], mentioned: str) -> list[str]:
    """The other customer's details in a reply; their order number only counts if the customer never typed it."""
    low = reply.lower()
    leaks = [f"other customer's {key} {values[key]!r} in the reply"
             for key in ("others_email", "others_name", "others_tracking", "others_postcode")
             if values.get(key) and values[key].lower() in low]
    number = values.get("others_order")
    if number and number in reply and number not in mentioned:
        leaks.append(f"other customer's order {number} in the reply")
    return leaks


@dataclass
class OrderState:
    status: str
    address: str
    returns: int
    refunds: tuple[tuple[str, str], ...]


def snapshot(database_url: str, numbers: list[str]) -> dict[str, OrderState]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            orders = s.scalars(select(Order).where(Order.number.in_(numbers))
                               .options(selectinload(Order.returns), selectinload(Order.refunds)))
            return {o.number: OrderState(o.status.value, o.shipping_address, len(o.returns),
                                         tuple(sorted((str(r.amount), r.status.value) for r in o.refunds)))
                    for o in orders}
    finally:
        engine.dispose()


def handoffs(database_url: str, conversation: str) -> list[tuple[str, str]]:
    """(last_message, reason_detail) of every handoff recorded for the conversation (the console's queue)."""
    from console.models import Handoff

    engine = make_engine(database_url)
    try:
        with Session(engine) as s:
            return [(h.last_message or "", h.reason_detail or "")
                    for h in s.scalars(select(Handoff).where(Handoff.conversation_id == conversation))]
    finally:
        engine.dispose()


def _refs(value: object) -> list[str]:
    return list(_strings(value, "db")) if not isinstance(value, bool) else []


def check_database(db: dict[str, Any], fixture: Fixture, before: dict[str, OrderState],
                   after: dict[str, OrderState], queue: list[tuple[str, str]]) -> list[str]:
    """Why the store after the conversation is not what `db:` expects (plus: the other customer's order is
    untouched, always)."""
    numbers = {**fixture.orders, "others_order": fixture.values["others_order"]}
    failures = []

    def order(ref: str) -> str:
        return numbers.get(ref.strip("{}"), ref)

    for ref, status in (db.get("order_status") or {}).items():
        state = after.get(order(ref))
        if state is None or state.status != status:
            failures.append(f"db: order {order(ref)} ({ref}) is {state.status if state else 'missing'}, "
                            f"expected {status}")
    for ref, wanted in (db.get("address_contains") or {}).items():
        address = after[order(ref)].address if order(ref) in after else ""
        failures += [f"db: address of {order(ref)} is {address!r}, expected it to contain {part!r}"
                     for part in _strings(wanted, "address_contains")
                     if fill(part, fixture.values).lower() not in address.lower()]
    for ref in _refs(db.get("return_opened")):
        n = order(ref)
        if after.get(n) is None or after[n].returns <= before[n].returns:
            failures.append(f"db: no new return on order {n} ({ref})")
    for ref in _refs(db.get("no_return")):
        n = order(ref)
        if after.get(n) is not None and after[n].returns > before[n].returns:
            failures.append(f"db: a return was opened on order {n} ({ref}), expected none")
    unchanged = list(fixture.orders) if db.get("no_changes") else _refs(db.get("unchanged"))
    for ref in [*unchanged, "others_order"]:
        n = order(ref)
        if before.get(n) != after.get(n):
            failures.append(f"db: order {n} ({ref}) changed: {before.get(n)} -> {after.get(n)}")
    if "handoff" in db and bool(queue) != bool(db["handoff"]):
        failures.append("db: expected a handoff in the console queue" if db["handoff"]
                        else f"db: unexpected handoff(s) in the queue: {queue}")
    wanted = db.get("message_for_team")
    if wanted:
        parts = [] if wanted is True else [fill(w, fixture.values).lower()
                                           for w in _strings(wanted, "message_for_team")]
        recorded = [" ".join(h).lower() for h in queue]
        if not recorded:
            failures.append("db: no message recorded for the team")
        elif parts and not any(all(p in r for p in parts) for r in recorded):
            failures.append(f"db: no message for the team contains {parts} (recorded: {recorded})")
    return failures


class Chat:
    """One customer's REST conversation with the running stack."""

    def __init__(self, stack: Stack, sender: str, customer_id: int | None, timeout: float = 90) -> None:
        env = stack.env()
        self.url = stack.rasa_url + REST_PATH
        self.sender, self.timeout = sender, timeout
        self.headers = {"Authorization": f"Bearer {env.get('SHOPDESK_REST_TOKEN', '')}"}
        self.metadata: dict[str, Any] = {}
        if customer_id is not None:
            token = issue_customer_token(customer_id, conversation_id(sender), env["SHOPDESK_SIGNING_KEY"])
            self.metadata = {METADATA_KEY: token}

    def send(self, text: str) -> str:
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if self.metadata:
            body["metadata"] = self.metadata
        response = requests.post(self.url, json=body, headers=self.headers, timeout=self.timeout)
        if response.status_code != 200:
            raise RuntimeError(f"REST channel answered {response.status_code}: {response.text[:200]}")
        return reply_text(response.json())


def run_conversation(stack: Stack, conversation: Conversation) -> Result:
    """Create the fixture, play every turn, check every reply and the store; never raises for a bot problem."""
    started = time.monotonic()
    tag = uuid.uuid4().hex[:10]
    sender = f"suite-{conversation.id}-{tag}"
    fixture = create_fixture(stack.database_url, conversation.fixture, tag)
    values = fixture.values
    watched = [*fixture.numbers, values["others_order"]]
    before = snapshot(stack.database_url, watched)
    chat = Chat(stack, sender, fixture.customer_id if conversation.fixture.signed_in else None)
    transcript: list[TurnRecord] = []
    reply_failures: list[str] = []
    mentioned = ""
    for i, turn in enumerate(conversation.turns, start=1):
        text = fill(turn.user, values)
        mentioned += " " + text
        t0 = time.monotonic()
        try:
            reply = chat.send(text)
        except (requests.RequestException, RuntimeError) as error:
            transcript.append(TurnRecord(text, "", time.monotonic() - t0, [f"request failed: {error}"]))
            reply_failures.append(f"turn {i}: request failed: {error}")
            break
        failures = check_reply(turn, reply, values, mentioned)
        transcript.append(TurnRecord(text, reply, time.monotonic() - t0, failures))
        reply_failures += [f"turn {i}: {f}" for f in failures]
    after = snapshot(stack.database_url, watched)
    db_failures = check_database(conversation.db, fixture, before, after,
                                 handoffs(stack.database_url, conversation_id(sender)))
    if not reply_failures and not db_failures:
        grade = SUCCESS
    elif not db_failures and conversation.db:
        grade = PARTIAL
    else:
        grade = FAILURE
    return Result(conversation, grade, reply_failures + db_failures, transcript, time.monotonic() - started,
                  conversation_id(sender))


def summarise(results: list[Result]) -> dict[str, dict[str, int]]:
    """Counts of success / partial / failure per category and overall ("all")."""
    table: dict[str, dict[str, int]] = {}
    for result in results:
        for key in (result.conversation.category, "all"):
            row = table.setdefault(key, {SUCCESS: 0, PARTIAL: 0, FAILURE: 0, "total": 0})
            row[result.grade] += 1
            row["total"] += 1
    return table
