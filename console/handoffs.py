"""The human queue's business rules: open a handoff, claim it (exclusively), hand it back, close it.

Used by the action server (opening handoffs, telling the customer their place in the queue) and by every
console process. All state is in the database and every change is a single conditional UPDATE, so two
agents clicking "claim" at the same moment in two processes cannot both win.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.labels import channel_name, detail_label, reason_label
from console.models import OPEN_STATUSES, Agent, Handoff, HandoffReason, HandoffStatus

ONLINE_WINDOW = timedelta(seconds=45)  # an agent whose console has not checked in for this long is away
DEFAULT_WAIT_PER_PLACE = timedelta(minutes=3)  # before there is any history to estimate from
MAX_NOTE_CHARS = 2000


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class HandoffError(Exception):
    """A change that is not allowed (someone else holds it, already closed...): the message says why."""


@dataclass(frozen=True)
class HandoffView:
    id: int
    conversation_id: str
    status: str
    reason: str
    reason_detail: str
    channel: str
    customer_id: int | None
    last_message: str
    created_at: datetime
    claimed_by_id: int | None
    claimed_by_name: str | None
    claimed_at: datetime | None
    ended_at: datetime | None
    resolution_note: str
    customer_name: str | None = None  # the verified customer's name, when the assistant knew who they are

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "conversation_id": self.conversation_id, "status": self.status, "reason": self.reason,
            "reason_detail": self.reason_detail, "channel": self.channel, "customer_id": self.customer_id,
            "last_message": self.last_message, "created_at": _iso(self.created_at),
            "claimed_by_id": self.claimed_by_id, "claimed_by": self.claimed_by_name,
            "claimed_at": _iso(self.claimed_at), "ended_at": _iso(self.ended_at),
            "resolution_note": self.resolution_note, **self.labels(),
        }

    def labels(self) -> dict[str, str | None]:
        """What the cards show instead of ids (console.labels)."""
        detail, intent = detail_label(self.reason_detail)
        return {"customer_name": self.customer_name, "reason_label": reason_label(self.reason),
                "detail_label": detail, "intent_label": intent, "channel_name": channel_name(self.channel)}


@dataclass(frozen=True)
class QueueStatus:
    """What the customer is told: their place, the expected wait, whether anyone is online."""

    position: int
    agents_online: int
    expected_wait: timedelta

    @property
    def expected_wait_minutes(self) -> int:
        return max(1, round(self.expected_wait.total_seconds() / 60))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _view(handoff: Handoff) -> HandoffView:
    return HandoffView(
        id=handoff.id, conversation_id=handoff.conversation_id, status=handoff.status.value,
        reason=handoff.reason.value, reason_detail=handoff.reason_detail, channel=handoff.channel,
        customer_id=handoff.customer_id, last_message=handoff.last_message, created_at=handoff.created_at,
        claimed_by_id=handoff.claimed_by_id,
        claimed_by_name=handoff.claimed_by.display_name if handoff.claimed_by else None,
        claimed_at=handoff.claimed_at, ended_at=handoff.ended_at, resolution_note=handoff.resolution_note,
        customer_name=handoff.customer.name if handoff.customer else None,
    )


class HandoffDesk:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # --- opening (action server) -----------------------------------------------------------------
    def open_handoff(self, conversation_id: str, reason: HandoffReason | str, detail: str = "",
                     channel: str = "", customer_id: int | None = None, last_message: str = "") -> HandoffView:
        """The conversation's open handoff: a new one, or the one already waiting / held (idempotent)."""
        existing = self.open_for_conversation(conversation_id)
        if existing:
            return existing
        now = utcnow()
        try:
            with self._sessions.begin() as s:
                handoff = Handoff(conversation_id=conversation_id, status=HandoffStatus.WAITING,
                                  reason=HandoffReason(reason), reason_detail=detail[:500], channel=channel[:64],
                                  customer_id=customer_id, last_message=last_message[:500], created_at=now,
                                  updated_at=now, version=1, resolution_note="")
                s.add(handoff)
                s.flush()
                handoff_id = handoff.id
        except IntegrityError:  # another process opened it a moment ago: the unique index decided
            existing = self.open_for_conversation(conversation_id)
            if existing is None:
                raise
            return existing
        view = self.get(handoff_id)
        assert view is not None
        return view

    def queue_status(self, handoff_id: int) -> QueueStatus:
        with self._sessions() as s:
            handoff = s.get(Handoff, handoff_id)
            if handoff is None:
                raise HandoffError("That conversation is not in the queue.")
            position = 0 if handoff.status != HandoffStatus.WAITING else s.scalar(
                select(func.count()).select_from(Handoff).where(
                    Handoff.status == HandoffStatus.WAITING, Handoff.id <= handoff.id)) or 0
            online = self._agents_online(s)
            return QueueStatus(position=position, agents_online=online,
                               expected_wait=self._wait_per_place(s) * max(position, 1) / max(online, 1))

    @staticmethod
    def _agents_online(s: Session) -> int:
        return s.scalar(select(func.count()).select_from(Agent).where(
            Agent.active.is_(True), Agent.last_seen_at >= utcnow() - ONLINE_WINDOW)) or 0

    @staticmethod
    def _wait_per_place(s: Session) -> timedelta:
        """Median time from handoff to claim over the last 20 claims: an honest, self-correcting estimate."""
        rows = s.execute(select(Handoff.created_at, Handoff.claimed_at).where(Handoff.claimed_at.is_not(None))
                         .order_by(Handoff.claimed_at.desc()).limit(20)).all()
        waits = [(claimed - created).total_seconds() for created, claimed in rows if claimed and created]
        return timedelta(seconds=statistics.median(waits)) if waits else DEFAULT_WAIT_PER_PLACE

    # --- reading ----------------------------------------------------------------------------------
    def get(self, handoff_id: int) -> HandoffView | None:
        with self._sessions() as s:
            handoff = s.get(Handoff, handoff_id)
            return _view(handoff) if handoff else None

    def open_for_conversation(self, conversation_id: str) -> HandoffView | None:
        with self._sessions() as s:
            handoff = s.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                     Handoff.status.in_(OPEN_STATUSES)))
            return _view(handoff) if handoff else None

    def latest_for_conversation(self, conversation_id: str) -> HandoffView | None:
        with self._sessions() as s:
            handoff = s.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id)
                               .order_by(Handoff.id.desc()).limit(1))
            return _view(handoff) if handoff else None

    def queue(self, agent_id: int, closed_limit: int = 20) -> dict[str, list[HandoffView]]:
        """The live queue as one agent sees it: waiting, mine, others', recently closed."""
        with self._sessions() as s:
            open_rows = s.scalars(select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
                                  .order_by(Handoff.created_at, Handoff.id)).all()
            ended = s.scalars(select(Handoff).where(Handoff.status.not_in(OPEN_STATUSES))
                              .order_by(Handoff.ended_at.desc(), Handoff.id.desc()).limit(closed_limit)).all()
            views = [_view(h) for h in open_rows]
            return {
                "waiting": [v for v in views if v.status == HandoffStatus.WAITING],
                "mine": [v for v in views if v.status == HandoffStatus.CLAIMED and v.claimed_by_id == agent_id],
                "others": [v for v in views if v.status == HandoffStatus.CLAIMED and v.claimed_by_id != agent_id],
                "closed": [_view(h) for h in ended],
            }

    def agents_online(self) -> int:
        with self._sessions() as s:
            return self._agents_online(s)

    # --- changing (console) -----------------------------------------------------------------------
    def claim(self, handoff_id: int, agent_id: int) -> bool:
        """Take a waiting conversation. True for exactly one of any number of simultaneous claimers."""
        now = utcnow()
        with self._sessions.begin() as s:
            result = s.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING,
                       Handoff.claimed_by_id.is_(None))
                .values(status=HandoffStatus.CLAIMED, claimed_by_id=agent_id, claimed_at=now, updated_at=now,
                        version=Handoff.version + 1)
                .execution_options(synchronize_session=False))
            return result.rowcount == 1

    def end(self, handoff_id: int, agent_id: int, *, close: bool, note: str = "", is_admin: bool = False
            ) -> HandoffView:
        """Hand the conversation back to the bot (`close=False`) or close it with a resolution note.

        Allowed for the agent holding it, for anyone while it is still waiting, and for admins.
        """
        note = (note or "").strip()
        if close and not note:
            raise HandoffError("Please write a short resolution note before closing.")
        if len(note) > MAX_NOTE_CHARS:
            raise HandoffError(f"The note is too long (at most {MAX_NOTE_CHARS} characters).")
        allowed = Handoff.status == HandoffStatus.WAITING
        allowed = allowed | ((Handoff.status == HandoffStatus.CLAIMED) & (Handoff.claimed_by_id == agent_id))
        if is_admin:
            allowed = Handoff.status.in_(OPEN_STATUSES)
        now = utcnow()
        with self._sessions.begin() as s:
            result = s.execute(
                update(Handoff).where(Handoff.id == handoff_id, allowed)
                .values(status=HandoffStatus.CLOSED if close else HandoffStatus.RETURNED, ended_at=now,
                        updated_at=now, resolution_note=note, version=Handoff.version + 1)
                .execution_options(synchronize_session=False))
            changed = result.rowcount == 1
        view = self.get(handoff_id)
        if view is None:
            raise HandoffError("That conversation is not in the queue.")
        if not changed:
            if not view.is_open:
                raise HandoffError("This conversation has already been handed back or closed.")
            raise HandoffError(f"{view.claimed_by_name or 'Another agent'} is handling this conversation.")
        return view

    def release_claims(self, agent_id: int) -> int:
        """Put the conversations an agent holds back in the queue (the agent was disabled): the bot stays
        paused, and any other agent can claim them. Returns how many."""
        now = utcnow()
        with self._sessions.begin() as s:
            result = s.execute(
                update(Handoff).where(Handoff.status == HandoffStatus.CLAIMED, Handoff.claimed_by_id == agent_id)
                .values(status=HandoffStatus.WAITING, claimed_by_id=None, claimed_at=None, updated_at=now,
                        version=Handoff.version + 1)
                .execution_options(synchronize_session=False))
            return result.rowcount

    def touch_agent(self, agent_id: int) -> None:
        """Mark the agent as online (their console is open)."""
        with self._sessions.begin() as s:
            s.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=utcnow()))

    def set_away(self, agent_id: int) -> None:
        with self._sessions.begin() as s:
            s.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=None))
