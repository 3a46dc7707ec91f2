"""Which conversations a verified customer had, so their history follows them to another device.

A conversation is held by one browser (web/identity.py); a customer who signs in on their phone gets a new
one there. This table remembers, per verified customer (the shop's signed identity token, or the demo
storefront's sign-in), the conversations they held, so the widget can show their earlier conversations,
read-only, above the current one on any device. Guests have none: nothing is shared without proof of who
the customer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base


class CustomerConversation(Base):
    __tablename__ = "customer_conversations"
    __table_args__ = (
        Index("ux_customer_conversations", "customer_id", "conversation_id", unique=True),
        Index("ix_customer_conversations_recent", "customer_id", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class PastConversation:
    conversation_id: str
    started_at: datetime
    last_seen_at: datetime


def remember(s: Session, customer_id: int, conversation_id: str, now: datetime) -> None:
    """Record that `customer_id` holds `conversation_id` (idempotent; refreshes when it was last seen)."""
    changed = s.execute(update(CustomerConversation).where(
        CustomerConversation.customer_id == customer_id, CustomerConversation.conversation_id == conversation_id,
    ).values(last_seen_at=now).execution_options(synchronize_session=False)).rowcount
    if changed:
        return
    try:
        with s.begin_nested():
            s.add(CustomerConversation(customer_id=customer_id, conversation_id=conversation_id, started_at=now,
                                       last_seen_at=now))
    except IntegrityError:  # another request of the same customer recorded it a moment ago
        pass


def earlier_conversations(s: Session, customer_id: int, current: str, limit: int) -> list[PastConversation]:
    """The customer's other conversations, most recently used first, at most `limit`."""
    rows = s.scalars(select(CustomerConversation).where(
        CustomerConversation.customer_id == customer_id, CustomerConversation.conversation_id != current,
    ).order_by(CustomerConversation.last_seen_at.desc(), CustomerConversation.id.desc()).limit(limit)).all()
    return [PastConversation(r.conversation_id, r.started_at, r.last_seen_at) for r in rows]
