"""The store database as the web app uses it: one engine per app, one short session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "shopdesk_store_sessions"


def store_sessions() -> sessionmaker[Session]:
    return current_app.extensions[EXTENSION]


@contextmanager
def store_session() -> Iterator[Session]:
    with store_sessions()() as s:
        yield s


@contextmanager
def store_transaction() -> Iterator[Session]:
    with store_sessions().begin() as s:
        yield s
