"""Images customers attach in the chat (e.g. a photo of a damaged item), linked to their conversation.

The file itself lives on disk (the web app's upload folder, under a random name); this table is the record
that ties it to the conversation it was sent in, to the signed-in customer when there is one, and to that
customer's open return request, so staff handling the return find the photo next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base, Order, ReturnRequest, ReturnStatus

OPEN_RETURN_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    return_request_id: Mapped[int | None] = mapped_column(ForeignKey("return_requests.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # store.security.throttle_key("client", address) of the uploader: the quota is per client, not per chat.
    client_key: Mapped[str | None] = mapped_column(String(64), index=True)


@dataclass(frozen=True)
class AttachmentView:
    id: int
    conversation_id: str
    customer_id: int | None
    return_request_id: int | None
    stored_name: str
    original_name: str
    content_type: str
    size_bytes: int
    created_at: datetime


def attachment_view(a: Attachment) -> AttachmentView:
    return AttachmentView(a.id, a.conversation_id, a.customer_id, a.return_request_id, a.stored_name,
                          a.original_name, a.content_type, a.size_bytes, a.created_at)


def open_return_request_id(session: Session, customer_id: int) -> int | None:
    """The customer's most recent return request that is still being handled, if any."""
    return session.scalar(
        select(ReturnRequest.id).join(Order)
        .where(Order.customer_id == customer_id, ReturnRequest.status.in_(OPEN_RETURN_STATUSES))
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc()).limit(1)
    )


def record_attachment(
    session: Session,
    *,
    conversation_id: str,
    customer_id: int | None,
    stored_name: str,
    original_name: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    client_key: str | None = None,
    now: datetime | None = None,
) -> AttachmentView:
    """Record a stored file; links it to the customer's open return request when one exists."""
    return_id = open_return_request_id(session, customer_id) if customer_id is not None else None
    attachment = Attachment(
        conversation_id=conversation_id, customer_id=customer_id, return_request_id=return_id,
        stored_name=stored_name, original_name=original_name[:255] or "image", content_type=content_type,
        size_bytes=size_bytes, sha256=sha256, created_at=now or datetime.now(), client_key=client_key,
    )
    session.add(attachment)
    session.flush()
    return attachment_view(attachment)


def count_for_conversation(session: Session, conversation_id: str) -> int:
    return session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.conversation_id == conversation_id)
    ) or 0


def count_for_client(session: Session, client_key: str, window: timedelta, now: datetime | None = None) -> int:
    """Images one client (store.security.throttle_key("client", address)) attached within `window`, in any
    conversation: starting new conversations does not reset this quota."""
    since = (now or datetime.now()) - window
    return session.scalar(
        select(func.count()).select_from(Attachment)
        .where(Attachment.client_key == client_key, Attachment.created_at >= since)
    ) or 0


def find_by_stored_name(session: Session, stored_name: str) -> AttachmentView | None:
    attachment = session.scalar(select(Attachment).where(Attachment.stored_name == stored_name))
    return attachment_view(attachment) if attachment else None


def for_conversation(session: Session, conversation_id: str) -> list[AttachmentView]:
    """All images of a conversation, oldest first (for the agent console and the transcript)."""
    rows = session.scalars(select(Attachment).where(Attachment.conversation_id == conversation_id)
                           .order_by(Attachment.created_at, Attachment.id)).all()
    return [attachment_view(a) for a in rows]
