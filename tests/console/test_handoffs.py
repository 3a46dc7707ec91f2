"""The queue's rules on a real SQLite database: opening, exclusive claims under concurrency, handing back."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from console.handoffs import HandoffDesk, HandoffError, utcnow
from console.models import Agent, Handoff
from console.users import UserError, authenticate, create_user
from tests.console.conftest import PASSWORD


def test_opening_is_idempotent_per_conversation(desk: HandoffDesk) -> None:
    first = desk.open_handoff("conv-1", "requested", "asked for a person", channel="socketio", last_message="human!")
    again = desk.open_handoff("conv-1", "sentiment", "angry")
    assert again.id == first.id and again.reason == "requested" and first.status == "waiting"
    other = desk.open_handoff("conv-2", "misses")
    assert other.id != first.id


def test_open_handoffs_are_unique_in_the_database_itself(desk: HandoffDesk, sessions) -> None:
    desk.open_handoff("conv-1", "requested")
    with pytest.raises(Exception), sessions.begin() as s:  # noqa: B017 (IntegrityError from any backend)
        now = utcnow()
        s.add(Handoff(conversation_id="conv-1", status="waiting", reason="requested", reason_detail="",
                      channel="", last_message="", created_at=now, updated_at=now, version=1, resolution_note=""))


def test_exactly_one_of_many_simultaneous_claims_wins(desk: HandoffDesk, agents, sessions) -> None:
    more = [create_user(sessions, f"agent{i}@shop.example", PASSWORD, "agent") for i in range(6)]
    claimers = [agents["alice"].id, agents["bob"].id] + [a.id for a in more]
    for round_ in range(5):
        handoff = desk.open_handoff(f"race-{round_}", "requested")
        barrier = threading.Barrier(len(claimers))
        results: dict[int, bool] = {}

        def claim(agent_id: int, handoff_id: int = handoff.id, barrier: threading.Barrier = barrier,
                  results: dict[int, bool] = results) -> None:
            barrier.wait()
            results[agent_id] = desk.claim(handoff_id, agent_id)

        threads = [threading.Thread(target=claim, args=(agent_id,)) for agent_id in claimers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [agent_id for agent_id, won in results.items() if won]
        assert len(results) == len(claimers) and len(winners) == 1
        assert desk.get(handoff.id).claimed_by_id == winners[0]


def test_queue_lanes_as_each_agent_sees_them(desk: HandoffDesk, agents) -> None:
    alice, bob = agents["alice"].id, agents["bob"].id
    waiting = desk.open_handoff("c-wait", "requested")
    mine = desk.open_handoff("c-mine", "requested")
    theirs = desk.open_handoff("c-theirs", "requested")
    closed = desk.open_handoff("c-closed", "requested")
    assert desk.claim(mine.id, alice) and desk.claim(theirs.id, bob) and desk.claim(closed.id, alice)
    desk.end(closed.id, alice, close=True, note="refund issued")
    lanes = {name: [h.id for h in views] for name, views in desk.queue(alice).items()}
    assert lanes == {"waiting": [waiting.id], "mine": [mine.id], "others": [theirs.id], "closed": [closed.id]}
    assert desk.get(closed.id).resolution_note == "refund issued"


def test_only_the_holder_or_an_admin_hands_back(desk: HandoffDesk, agents) -> None:
    alice, bob, admin = agents["alice"].id, agents["bob"].id, agents["admin"].id
    handoff = desk.open_handoff("c-1", "requested")
    desk.claim(handoff.id, alice)
    with pytest.raises(HandoffError, match="Alice is handling"):
        desk.end(handoff.id, bob, close=False)
    with pytest.raises(HandoffError, match="resolution note"):
        desk.end(handoff.id, alice, close=True, note="  ")
    assert desk.get(handoff.id).status == "claimed"
    assert desk.end(handoff.id, admin, close=False, is_admin=True).status == "returned"
    with pytest.raises(HandoffError, match="already"):
        desk.end(handoff.id, alice, close=True, note="late")
    # a claim on something no longer waiting loses
    assert not desk.claim(handoff.id, bob)


def test_a_new_handoff_after_the_last_one_ended(desk: HandoffDesk, agents) -> None:
    first = desk.open_handoff("c-1", "requested")
    desk.end(first.id, agents["alice"].id, close=False)
    second = desk.open_handoff("c-1", "sentiment")
    assert second.id != first.id and second.status == "waiting"


def test_queue_position_online_agents_and_expected_wait(desk: HandoffDesk, agents, sessions) -> None:
    a = desk.open_handoff("c-a", "requested")
    b = desk.open_handoff("c-b", "requested")
    status = desk.queue_status(b.id)
    assert status.position == 2 and status.agents_online == 0
    desk.touch_agent(agents["alice"].id)
    desk.touch_agent(agents["bob"].id)
    status = desk.queue_status(b.id)
    assert status.agents_online == 2
    assert status.expected_wait_minutes == 3  # 2 places x 3 min default / 2 agents
    # history: claims took 1 minute each -> the estimate follows
    with sessions.begin() as s:
        s.execute(update(Handoff).where(Handoff.id == a.id).values(
            created_at=utcnow() - timedelta(minutes=1), claimed_at=utcnow(), status="claimed",
            claimed_by_id=agents["alice"].id))
    status = desk.queue_status(b.id)
    assert status.position == 1 and status.expected_wait_minutes == 1
    # an agent silent for longer than the online window counts as away
    with sessions.begin() as s:
        s.execute(update(Agent).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    assert desk.queue_status(b.id).agents_online == 0


def test_accounts_hash_passwords_and_reject_bad_input(sessions) -> None:
    agent = create_user(sessions, "Carol@Shop.example", PASSWORD, "agent")
    assert agent.email == "carol@shop.example"
    with sessions() as s:
        assert PASSWORD not in s.get(Agent, agent.id).password_hash
    assert authenticate(sessions, "carol@shop.example", PASSWORD) == agent
    assert authenticate(sessions, "carol@shop.example", "wrong-password-123") is None
    assert authenticate(sessions, "nobody@shop.example", PASSWORD) is None
    for email, password, role, message in [("not-an-email", PASSWORD, "agent", "valid email"),
                                           ("d@shop.example", "short", "agent", "at least"),
                                           ("d@shop.example", PASSWORD, "boss", "Role"),
                                           ("carol@shop.example", PASSWORD, "agent", "already")]:
        with pytest.raises(UserError, match=message):
            create_user(sessions, email, password, role)
