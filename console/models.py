"""The agent console's state: agents, handoffs (the queue) and canned replies, in the store database.

Everything that must survive a restart or be shared by several console processes and the action server
lives here, never in process memory: who is online, which conversation waits, who holds it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models import Base, Customer, _enum


class Role(enum.StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


class HandoffStatus(enum.StrEnum):
    WAITING = "waiting"  # paused, in the queue, nobody holds it yet
    CLAIMED = "claimed"  # an agent holds it; the bot is silent
    RETURNED = "returned"  # handed back to the bot
    CLOSED = "closed"  # resolved by an agent (resolution note), back with the bot


OPEN_STATUSES = (HandoffStatus.WAITING, HandoffStatus.CLAIMED)


class HandoffReason(enum.StrEnum):
    REQUESTED = "requested"  # the customer asked for a person
    MISSES = "misses"  # two NLU / knowledge-base misses in a row
    SENTIMENT = "sentiment"  # clearly negative or angry message
    FLOW = "flow"  # a flow declared it needs a human


class Agent(Base):
    __tablename__ = "console_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Password guessing: after MAX_FAILED_LOGINS wrong passwords in a row the account waits a while.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # "Online" = has a console open: refreshed by the live queue stream, expires after a short silence.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Part of every session's user id: bumped on disable / password reset, which ends the older sessions.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Handoff(Base):
    """One stretch of a conversation handled by people, from the handoff to the return to the bot."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open handoff per conversation, enforced by the database for every writer.
        Index("ux_handoffs_open_conversation", "conversation_id", unique=True,
              sqlite_where=text("status IN ('waiting', 'claimed')"),
              postgresql_where=text("status IN ('waiting', 'claimed')")),
        Index("ix_handoffs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[HandoffStatus] = mapped_column(_enum(HandoffStatus))
    reason: Mapped[HandoffReason] = mapped_column(_enum(HandoffReason))
    reason_detail: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(64), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    last_message: Mapped[str] = mapped_column(Text, default="")  # the message that triggered it (preview)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_agents.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change; drives the live queue

    claimed_by: Mapped[Agent | None] = relationship()
    customer: Mapped[Customer | None] = relationship()


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80), unique=True)
    text: Mapped[str] = mapped_column(Text)
