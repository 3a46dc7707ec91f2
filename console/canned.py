"""Canned replies, kept by admins in the console (they used to change only through a migration)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.models import CannedReply

MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 2000  # what an agent's reply may hold (console.operations.MAX_REPLY_CHARS)


class CannedError(ValueError):
    """Bad input for a canned reply (the message says what to fix)."""


@dataclass(frozen=True)
class Canned:
    id: int
    title: str
    text: str


def all_canned(sessions: sessionmaker[Session]) -> list[Canned]:
    with sessions() as s:
        return [Canned(c.id, c.title, c.text) for c in s.scalars(select(CannedReply).order_by(CannedReply.id))]


def _clean(title: str, text: str) -> tuple[str, str]:
    title, text = " ".join((title or "").split()), (text or "").strip()
    if not title or not text:
        raise CannedError("A canned reply needs a title and a text.")
    if len(title) > MAX_TITLE_CHARS:
        raise CannedError(f"The title is too long (at most {MAX_TITLE_CHARS} characters).")
    if len(text) > MAX_TEXT_CHARS:
        raise CannedError(f"The text is too long (at most {MAX_TEXT_CHARS} characters).")
    return title, text


def save_canned(sessions: sessionmaker[Session], title: str, text: str, canned_id: int | None = None) -> Canned:
    """Add a reply (no `canned_id`) or change one; titles are unique."""
    title, text = _clean(title, text)
    try:
        with sessions.begin() as s:
            row = CannedReply(title=title, text=text) if canned_id is None else s.get(CannedReply, canned_id)
            if row is None:
                raise CannedError("That canned reply no longer exists.")
            row.title, row.text = title, text
            s.add(row)
            s.flush()
            return Canned(row.id, row.title, row.text)
    except IntegrityError as exc:
        raise CannedError(f"There is already a canned reply called “{title}”.") from exc


def delete_canned(sessions: sessionmaker[Session], canned_id: int) -> None:
    with sessions.begin() as s:
        row = s.get(CannedReply, canned_id)
        if row is None:
            raise CannedError("That canned reply no longer exists.")
        s.delete(row)
