"""Security records shared by every process that talks to the store database.

- **Throttle**: failed attempts (identity checks, console sign-ins, uploads) are recorded once per key the
  attacker cannot change at will (the email tried, the order number tried, the client address), across
  conversations, channels and processes. A key with too many recent failures is blocked; a block stops
  evaluation before anything is checked, and a success never erases earlier failures.
- **Revoked conversations**: a conversation signed out of (or ended by the shop) stops honouring the
  customer token bound to it, even while the token itself has not expired.

Keys are stored as salted SHA-256 digests, so the table holds no email addresses or IP addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base

KEY_SALT = b"shopdesk-throttle-v1:"


def utcnow() -> datetime:
    """Naive UTC (the store's DateTime columns carry no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


class ThrottleEvent(Base):
    """One failed attempt, recorded under one key (a row per key the attempt concerned)."""

    __tablename__ = "throttle_events"
    __table_args__ = (Index("ix_throttle_scope_key_time", "scope", "key", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)


class RevokedConversation(Base):
    __tablename__ = "revoked_conversations"

    conversation_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime)


def throttle_key(kind: str, value: str) -> str:
    """The stored form of one identifier (`kind` keeps an email and a client address with the same text apart)."""
    return hashlib.sha256(KEY_SALT + kind.encode() + b"\0" + value.strip().lower().encode()).hexdigest()


def record_failure(session: Session, scope: str, keys: Iterable[str], at: datetime | None = None) -> None:
    """Count one failure against each key (call inside the caller's transaction)."""
    when = at or utcnow()
    for key in set(keys):
        session.add(ThrottleEvent(scope=scope, key=key, occurred_at=when))


def recent_failures(session: Session, scope: str, keys: Iterable[str], window: timedelta,
                    now: datetime | None = None) -> int:
    """The most failures any one of `keys` has had within `window` (0 for no keys)."""
    keys = list(set(keys))
    if not keys:
        return 0
    since = (now or utcnow()) - window
    counts = session.execute(
        select(func.count()).select_from(ThrottleEvent)
        .where(ThrottleEvent.scope == scope, ThrottleEvent.key.in_(keys), ThrottleEvent.occurred_at >= since)
        .group_by(ThrottleEvent.key)
    ).scalars().all()
    return max(counts, default=0)


def revoke_conversation(session: Session, conversation_id: str, at: datetime | None = None) -> None:
    if session.get(RevokedConversation, conversation_id) is None:
        session.add(RevokedConversation(conversation_id=conversation_id, revoked_at=at or utcnow()))


def is_revoked(session: Session, conversation_id: str) -> bool:
    return session.get(RevokedConversation, conversation_id) is not None
