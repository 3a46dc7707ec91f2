"""The scale-out profile for real: PostgreSQL tracker and store, Redis locks, RabbitMQ events, HAProxy in front of
2 Rasa instances and 2 action servers; a short concurrent burst with an action server killed mid-way, a store
database outage, and no action server at all. Correctness is checked from the tracker store afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from runtime.chat_client import conversation_id, post_message
from runtime.conversation_audit import audit
from runtime.readiness import check_all
from runtime.scaleout import store_database_blocked
from store.models import Customer, Order

pytestmark = pytest.mark.slow
SHIPPED, DELIVERED = "900002", "900003"


def say(stack, sender: str, message: str) -> list[dict]:
    reply = post_message(stack.config.rasa_url, sender, message, timeout=90)  # kept as conversation rest:<sender>
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def email_of(stack, number: str) -> str:
    engine = create_engine(stack.config.database_url)
    with Session(engine) as s:
        email = s.scalar(select(Customer.email).join(Order).where(Order.number == number))
    engine.dispose()
    assert email, f"order {number} missing from the fixture store"
    return email


def server_requests(stack, backend: str, include_backups: bool = False) -> dict[str, int]:
    lines = stack.haproxy_command("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
    return {r["svname"]: int(r["stot"] or 0) for r in rows
            if r.get("pxname") == backend and r.get("svname") not in ("FRONTEND", "BACKEND")
            and (include_backups or not r["svname"].endswith("-unchecked"))}


def test_every_dependency_and_process_is_ready(scaleout) -> None:
    checks = check_all(scaleout.config)
    assert all(value == "ok" for value in checks.values()), checks
    with create_engine(scaleout.config.database_url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()  # Alembic on PostgreSQL
    ready = requests.get(f"http://127.0.0.1:{scaleout.config.action_server_ports[0]}/ready", timeout=5).json()
    assert ready["status"] == "ready"


def test_action_servers_answer_only_rasa_and_no_token_is_on_a_command_line(scaleout) -> None:
    """Through HAProxy and directly, a forged action call without the token gets 401 (not the fallback answer)."""
    forged = {"next_action": "action_list_orders", "sender_id": "forged", "version": "3.6.21",
              "tracker": {"sender_id": "forged", "slots": {"customer_id": 1}, "events": [], "latest_message": {}},
              "domain": {}}
    env = scaleout.config.env()
    urls = [f"http://127.0.0.1:{scaleout.config.actions_port}/webhook"] + [
        f"http://127.0.0.1:{port}/webhook" for port in scaleout.config.action_server_ports]
    for url in urls:
        for headers in ({}, {"X-ShopDesk-Action-Token": "wrong"}):
            reply = requests.post(url, json=forged, headers=headers, timeout=30)
            assert reply.status_code == 401 and reply.json()["error"] == "unauthorized", (url, reply.text)
    secrets = [env[name] for name in ("RASA_AUTH_TOKEN", "SHOPDESK_ACTION_TOKEN", "SHOPDESK_REST_TOKEN")
               if env.get(name)]
    for name, server in scaleout.servers.items():
        line = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert not any(secret in line for secret in secrets), f"a secret is on {name}'s command line"


def test_burst_with_an_action_server_killed_is_exactly_once_and_in_order(scaleout) -> None:
    """20 concurrent conversations x 3 turns across 2 Rasa instances; actions1 is SIGKILLed mid-burst."""
    email = email_of(scaleout, SHIPPED)
    script = ["hello", f"where is my order {SHIPPED}", email]
    senders = [f"burst-{uuid.uuid4().hex[:10]}" for _ in range(20)]
    replies: dict[str, list[str]] = {s: [] for s in senders}

    def converse(sender: str) -> None:
        for turn in script:
            replies[sender].append(texts(say(scaleout, sender, turn)))

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(converse, s) for s in senders]
        time.sleep(1.0)
        scaleout.kill("actions1")
        for future in futures:
            future.result(timeout=180)

    for sender in senders:
        assert len(replies[sender]) == 3 and all(replies[sender]), (sender, replies[sender])
        final = replies[sender][-1]
        # answered from the store, or (if the killed worker had it) a graceful answer with a human offer
        assert "tracking number" in final or "temporarily unavailable" in final, final
    report = audit(scaleout.config.tracker_url, {conversation_id(s): script for s in senders})
    assert report.ok, report.problems[:5]
    assert report.user_messages == 60 and report.bot_turns == 60
    assert all(count > 0 for count in server_requests(scaleout, "rasa_webhooks").values())  # both instances served
    deadline = time.monotonic() + 60
    while not scaleout.servers["actions1"].healthy():  # the supervisor brought it back
        assert time.monotonic() < deadline, "actions1 was not restarted"
        time.sleep(0.5)
    assert scaleout.restarts.get("actions1", 0) >= 1


def test_analytics_receive_every_tracker_event_once(scaleout) -> None:
    sender = f"analytics-{uuid.uuid4().hex[:10]}"
    for message in ("hi", "what's your refund policy?", "thanks"):
        assert texts(say(scaleout, sender, message))
    tracker, console = create_engine(scaleout.config.tracker_url), create_engine(scaleout.config.console_url)
    with tracker.connect() as t:
        stored = t.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"),
                           {"s": conversation_id(sender)}).scalar()
    deadline = time.monotonic() + 30
    while True:
        with console.connect() as c:
            total, distinct, users = c.execute(text(
                "SELECT count(*), count(DISTINCT digest), count(*) FILTER (WHERE event = 'user') "
                "FROM conversation_events WHERE sender_id = :s"), {"s": conversation_id(sender)}).one()
        if total >= stored or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    tracker.dispose()
    console.dispose()
    assert total == distinct == stored and users == 3


def test_store_database_outage_gets_a_graceful_answer_and_the_conversation_continues(scaleout) -> None:
    email = email_of(scaleout, DELIVERED)
    sender = f"outage-{uuid.uuid4().hex[:10]}"
    assert "email" in texts(say(scaleout, sender, f"where is my order {DELIVERED}"))
    with store_database_blocked(scaleout.config):
        reply = say(scaleout, sender, email)  # checking the email needs the store
        assert "temporarily unavailable" in texts(reply), texts(reply)
        assert any(b["payload"] == "/contact_human_agent" for m in reply for b in m.get("buttons") or [])
        assert "tracking number" not in texts(reply)  # nothing unverified slipped through
    # store back: the same conversation carries on where it was and gets the real answer
    answer = texts(say(scaleout, sender, email))
    assert DELIVERED in answer and "temporarily unavailable" not in answer
    expected = [f"where is my order {DELIVERED}", email, email]
    report = audit(scaleout.config.tracker_url, {conversation_id(sender): expected})
    assert report.ok, report.problems


def test_no_action_server_at_all_still_answers_through_the_load_balancer(scaleout) -> None:
    sender = f"noactions-{uuid.uuid4().hex[:10]}"
    names = list(server_requests(scaleout, "actions", include_backups=True))
    for name in names:
        scaleout.haproxy_command(f"set server actions/{name} state maint")
    try:
        reply = texts(say(scaleout, sender, f"where is my order {SHIPPED}"))
        assert "temporarily unavailable" in reply
    finally:
        for name in names:
            scaleout.haproxy_command(f"set server actions/{name} state ready")
    assert texts(say(scaleout, sender, "hello"))  # the conversation goes on
    report = audit(scaleout.config.tracker_url, {conversation_id(sender): [f"where is my order {SHIPPED}", "hello"]})
    assert report.ok, report.problems


def test_logs_are_json_lines_with_the_conversation_id(scaleout) -> None:
    sender = f"logs-{uuid.uuid4().hex[:10]}"
    say(scaleout, sender, f"where is my order {SHIPPED}")
    time.sleep(0.5)
    logs = scaleout.config.run_dir / "logs"

    def entries(pattern: str) -> list[dict]:
        """JSON objects logged for this conversation (Rasa prefixes its JSON events with time, level, logger)."""
        found = []
        for path in logs.glob(pattern):
            for line in path.read_text(errors="replace").splitlines():
                if sender in line and "{" in line:
                    found.append(json.loads(line[line.index("{"):]))
        return found

    assert any(e.get("conversation_id") == conversation_id(sender) for e in entries("actions*.log"))
    assert any(e.get("conversation_id") == conversation_id(sender) for e in entries("rasa*.log"))
