"""The fuzz run's generator and accounting (bench/fuzz_plan.py, bench/fuzz_audit.py), without a stack.

The fuzz run itself (bench/fuzz_channels.py) is a benchmark the lead runs against the merged stack; these tests
only make sure that what it sends is what it claims to send, and that its exactly-once verdict is right on
hand-made tracker contents (lost, duplicated, refused-but-stored, takeover, renamed conversation).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections import Counter

import pytest

from bench.fuzz_audit import Result, StoredMessage, account, expectation_mismatches, percentile
from bench.fuzz_channels import check_loopback, http_outcome, parse_mix, webhook_headers
from bench.fuzz_plan import (
    ACCEPT,
    BODY_LIMIT,
    CHANNEL_LIMIT,
    CHANNELS,
    REJECT,
    TEXT_KINDS,
    Planner,
    json_bytes,
    make_text,
    nested,
    step_counts,
)

MIX = {"rest": 0.4, "socketio": 0.3, "webhook": 0.3}


def plan(total: int = 3000, seed: int = 3) -> list:
    return Planner(random.Random(seed), "fztest").plan(total, MIX)


def test_plan_has_exactly_the_requested_steps_across_all_channels_and_families() -> None:
    scripts = plan()
    steps = [s for script in scripts for s in script.steps]
    assert len(steps) == 3000
    per_channel = Counter(s.channel for s in steps)
    for channel in CHANNELS:
        assert abs(per_channel[channel] - 3000 * MIX[channel]) <= 1
    families = step_counts(scripts)
    for needed in [("rest", "valid"), ("rest", "malformed"), ("rest", "auth"), ("rest", "cross_channel"),
                   ("socketio", "valid"), ("socketio", "malformed"), ("socketio", "forged"),
                   ("socketio", "resend_same_message_id"), ("webhook", "valid"), ("webhook", "malformed"),
                   ("webhook", "auth"), ("webhook", "replay_exact"), ("webhook", "retry_same_message_id")]:
        assert families[needed] > 0, needed
    assert all(script.channel == step.channel for script in scripts for step in script.steps)


def test_plan_is_reproducible_from_its_seed() -> None:
    first, second = plan(seed=11), plan(seed=11)
    assert [(s.kind, s.text, s.message_id) for x in first for s in x.steps] == \
           [(s.kind, s.text, s.message_id) for x in second for s in x.steps]
    assert [s.kind for x in plan(seed=12) for s in x.steps] != [s.kind for x in first for s in x.steps]


def test_message_ids_are_unique_except_deliberate_resends() -> None:
    steps = [s for script in plan() for s in script.steps if isinstance(s.message_id, str)]
    counts = Counter(s.message_id for s in steps)
    resends = {"retry_same_message_id", "replay_exact", "message_id_reused_other_text", "resend_same_message_id"}
    originals = [s for s in steps if s.kind not in resends]
    assert len({s.message_id for s in originals}) == len(originals)
    assert all(counts[s.message_id] >= 2 for s in steps if s.kind in resends)


@pytest.mark.parametrize("kind", sorted(TEXT_KINDS))
def test_text_kinds_deliver_what_they_are_named_for(kind: str) -> None:
    rng = random.Random(kind)
    texts = [make_text(rng, kind) for _ in range(40)]
    if TEXT_KINDS[kind][1] == ACCEPT:  # a valid message: printable, not blank, within every channel's limit
        assert all(t.strip() and len(t) <= CHANNEL_LIMIT and t.isprintable() for t in texts), kind
    if kind == "lone_surrogate":
        assert all(any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts)
    if kind == "controls_nul":
        assert all(not t.isprintable() for t in texts)
    if kind == "over_limit":
        assert all(CHANNEL_LIMIT < len(t) <= 20000 for t in texts)
    if kind == "over_64k":
        assert all(len(t) >= BODY_LIMIT for t in texts)
    if kind == "blank":
        assert all(not t.strip() for t in texts)


def test_lone_surrogates_travel_as_json_escapes_and_utf8_mode_makes_invalid_bytes() -> None:
    body = json_bytes({"sender": "s\udfff", "message": "hi 😀"})
    assert b"\\udfff" in body and body.isascii()
    assert json.loads(body)["sender"] == "s\udfff"
    raw = json_bytes({"message": "x\udfff"}, "utf8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_nested_metadata_bomb_has_the_requested_depth() -> None:
    bomb = nested(3)
    assert json.loads(bomb) == {"a": {"a": {"a": 1}}}
    assert nested(20000).count(b"{") == 20000


def test_webhook_headers_sign_like_the_channel_and_break_only_what_they_say() -> None:
    secret, body, now = "s" * 32, b'{"sender": "a", "message": "hi"}', 1_700_000_000
    good = webhook_headers(secret, body, "valid", now)
    expected = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert good["X-ShopDesk-Timestamp"] == "1700000000"
    assert good["X-ShopDesk-Signature"] == f"v1={expected}"
    assert webhook_headers(secret, body, "bad_signature", now)["X-ShopDesk-Signature"] != good["X-ShopDesk-Signature"]
    assert "X-ShopDesk-Signature" not in webhook_headers(secret, body, "missing_headers", now)
    assert int(webhook_headers(secret, body, "stale", now)["X-ShopDesk-Timestamp"]) < now - 3600
    assert len(webhook_headers(secret, body, "digits_320", now)["X-ShopDesk-Timestamp"]) == 320


def test_http_answers_are_classified() -> None:
    assert http_outcome("rest", 200, b"[]") == ("accepted", "200 []")
    assert http_outcome("rest", 200, b"[{\"text\": \"hi\"}]") == ("accepted", "200")
    assert http_outcome("rest", 400, b"{}") == ("rejected", "400")
    assert http_outcome("rest", 500, b"") == ("error", "500")
    assert http_outcome("webhook", 200, b'{"status": "duplicate"}') == ("duplicate", "200 duplicate")
    assert http_outcome("webhook", 200, b'{"status": "ok"}') == ("accepted", "200")


def test_only_loopback_targets_and_known_channels() -> None:
    check_loopback("http://127.0.0.1:5005", "http://localhost:8080", None)
    with pytest.raises(SystemExit):
        check_loopback("http://10.0.0.5:5005")
    assert parse_mix("rest=1,webhook=2") == {"rest": 1.0, "webhook": 2.0}


# ---- accounting ------------------------------------------------------------------------------------------------


def accepted(channel: str, conversations: tuple[str, ...], text: str, mid: str | None = None,
             **extra: object) -> Result:
    return Result(channel, "valid:plain", ACCEPT, "accepted", "200", 0.1, conversations, mid, text, **extra)


def refused(channel: str, conversations: tuple[str, ...], text: str, mid: str | None = None,
            **extra: object) -> Result:
    return Result(channel, "auth:wrong", REJECT, "rejected", "401", None, conversations, mid, text, **extra)


def test_everything_stored_once_is_exactly_once() -> None:
    results = [accepted("rest", ("rest:fz-r1", "fz-r1"), "hi"), accepted("rest", ("rest:fz-r1", "fz-r1"), "hi"),
               accepted("webhook", ("webhook:fz-w1",), "track", "fz-m1"),
               Result("webhook", "retry_same_message_id", "duplicate", "duplicate", "200 duplicate", None,
                      ("webhook:fz-w1",), "fz-m1", "track"),
               refused("rest", ("rest:fz-x1", "fz-x1"), "nope")]
    stored = [StoredMessage("rest:fz-r1", "hi", "u1"), StoredMessage("rest:fz-r1", "hi", "u2"),
              StoredMessage("webhook:fz-w1", "track", "fz-m1")]
    acc = account(results, stored, "fz", private=True)
    assert acc.exactly_once and acc.accepted == acc.stored_once == 3
    assert acc.rejected_stored == acc.unattributed == acc.takeovers == acc.off_contract_id == 0


def test_lost_duplicated_and_refused_but_stored_are_counted() -> None:
    results = [accepted("socketio", ("c" * 32,), "one", "fz-m1"), accepted("socketio", ("c" * 32,), "two", "fz-m2"),
               accepted("rest", ("rest:fz-r1", "fz-r1"), "hello"), refused("webhook", ("webhook:fz-w1",), "x", "fz-m3"),
               refused("rest", ("rest:fz-x1", "fz-x1"), "sneaky")]
    stored = [StoredMessage("c" * 32, "one", "fz-m1"), StoredMessage("c" * 32, "one", "fz-m1"),
              StoredMessage("webhook:fz-w1", "x", "fz-m3"), StoredMessage("rest:fz-x1", "sneaky", "u9")]
    acc = account(results, stored, "fz")
    assert not acc.exactly_once
    assert (acc.lost, acc.duplicated, acc.rejected_stored) == (2, 1, 2)


def test_a_message_landing_in_its_victims_conversation_is_a_takeover() -> None:
    victim = "v" * 32
    forged = Result("socketio", "forged:no_token", REJECT, "accepted", "ack:received", None, (), "fz-m7", "hi",
                    victim)
    cross = Result("rest", "cross_channel:webhook", "either", "accepted", "200", 0.1, ("rest:webhook:fz-w1",),
                   None, "where is it fz-t1", "webhook:fz-w1")
    stored = [StoredMessage(victim, "hi", "fz-m7"), StoredMessage("webhook:fz-w1", "where is it fz-t1", "u1")]
    acc = account([forged, cross], stored, "fz")
    assert acc.takeovers == 2


def test_an_acknowledged_message_with_no_known_conversation_is_found_by_its_id() -> None:
    nowhere = Result("socketio", "forged:no_token", REJECT, "accepted", "ack:received", None, (), "fz-m1", "hi")
    assert account([nowhere], [], "fz").lost == 1
    found = account([nowhere], [StoredMessage("f" * 32, "hi", "fz-m1")], "fz")
    assert found.misrouted == 1 and found.lost == 0


def test_bare_sender_ids_and_normalised_text_are_reported_not_lost() -> None:
    results = [accepted("rest", ("rest:fz-r1", "fz-r1"), "a\u200bb"), accepted("rest", ("rest:fz-r2", "fz-r2"), "x")]
    stored = [StoredMessage("rest:fz-r1", "ab", "u1"), StoredMessage("fz-r2", "x", "u2")]
    acc = account(results, stored, "fz")
    assert acc.exactly_once and acc.stored_once == 2
    assert acc.altered == 1 and acc.off_contract_id == 1


def test_private_store_explains_every_event() -> None:
    stray = [StoredMessage("default", "hi", "u1")]
    assert account([], stray, "fz", private=True).unattributed == 1
    assert account([], stray, "fz", private=False).other_traffic == 1


def test_expectation_mismatches_and_percentiles() -> None:
    results = [refused("rest", (), "x"), accepted("rest", (), "y"),
               Result("rest", "auth:wrong", REJECT, "accepted", "200"),
               Result("rest", "valid:plain", ACCEPT, "rejected", "400")]
    wrongly_accepted, wrongly_refused = expectation_mismatches(results)
    assert wrongly_accepted == Counter({"rest auth:wrong": 1})
    assert wrongly_refused == Counter({"rest valid:plain": 1})
    assert percentile([], 50) is None
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
