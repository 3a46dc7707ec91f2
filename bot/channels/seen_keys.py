"""Keys remembered for a while across every Rasa process: the webhook's seen signatures and message ids.

Why a database: a replay cache in one process's memory forgets on restart and is not seen by a second
instance, so a captured signed request could be replayed to the other one (or after a restart) within
its timestamp window, and a retried message id be processed twice. The keys live in the Rasa tracker
store's own database (table `shopdesk_webhook_seen`, created when missing), found from the same
TRACKER_* environment variables endpoints.yml uses; memory is the fallback only when none is configured.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

logger = logging.getLogger(__name__)

TABLE_NAME = "shopdesk_webhook_seen"
PURGE_EVERY_S = 60.0


class SeenKeys(Protocol):
    def add(self, key: str, now: float, ttl_s: float) -> bool:
        """Remember `key` until now + ttl_s; False when it was already remembered and not yet expired."""


class SeenKeysUnavailable(RuntimeError):
    """The shared store cannot be reached: the caller refuses the request rather than risk a replay."""


class MemorySeenKeys:
    """One process's memory, bounded (only for a channel without a database)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._items: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def add(self, key: str, now: float, ttl_s: float) -> bool:
        with self._lock:
            expires = self._items.get(key)
            if expires is not None and expires > now:
                return False
            self._items.pop(key, None)
            self._items[key] = now + ttl_s
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
            if len(self._items) % 1000 == 0:
                for stale in [k for k, t in self._items.items() if t <= now]:
                    del self._items[stale]
            return True


def _digest(key: str) -> str:
    """Fixed-size primary keys whatever the caller's ids look like."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class SqlSeenKeys:
    """Rows (key, expires_at) in one table; the primary key makes "first one wins" atomic across processes."""

    def __init__(self, url: Any, engine_options: Mapping[str, Any] | None = None) -> None:
        self._url = url
        self._options = dict(engine_options or {})
        self._engine: sa.engine.Engine | None = None
        self._table = sa.Table(TABLE_NAME, sa.MetaData(),
                               sa.Column("key", sa.String(64), primary_key=True),
                               sa.Column("expires_at", sa.Float, nullable=False, index=True))
        self._last_purge = 0.0
        self._lock = threading.Lock()

    def _ready(self) -> sa.engine.Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = sa.create_engine(self._url, pool_pre_ping=True, future=True, **self._options)
                    try:
                        self._table.metadata.create_all(engine, checkfirst=True)
                    except SQLAlchemyError:  # another process created it between check and create
                        if not sa.inspect(engine).has_table(TABLE_NAME):
                            raise
                    self._engine = engine
        return self._engine

    def add(self, key: str, now: float, ttl_s: float) -> bool:
        digest, table = _digest(key), self._table
        try:
            engine = self._ready()
            with engine.begin() as connection:
                expired = table.c.expires_at <= now
                if now - self._last_purge > PURGE_EVERY_S:
                    self._last_purge = now
                    connection.execute(table.delete().where(expired))
                else:
                    connection.execute(table.delete().where(table.c.key == digest, expired))
            try:
                with engine.begin() as connection:
                    connection.execute(table.insert().values(key=digest, expires_at=now + ttl_s))
            except IntegrityError:
                return False
            return True
        except SQLAlchemyError as exc:
            logger.error("webhook replay store unavailable: %s", type(exc).__name__)
            raise SeenKeysUnavailable(str(exc)) from exc

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def tracker_database_url(env: Mapping[str, str] = os.environ) -> Any | None:
    """The tracker store's database as endpoints.yml configures it (TRACKER_DIALECT, TRACKER_DB, ...).

    The scale-out endpoints name no dialect (always PostgreSQL) but set TRACKER_DB_HOST. Built by Rasa's
    own SQLTrackerStore.get_db_url, so it is the same database Rasa writes conversations to.
    """
    db = env.get("TRACKER_DB")
    dialect = env.get("TRACKER_DIALECT") or ("postgresql" if env.get("TRACKER_DB_HOST") else "")
    if not db or not dialect:
        return None
    from rasa.core.tracker_store import SQLTrackerStore

    port = env.get("TRACKER_DB_PORT")
    return SQLTrackerStore.get_db_url(dialect, env.get("TRACKER_DB_HOST") or None, int(port) if port else None,
                                      db, env.get("TRACKER_DB_USER") or None, env.get("TRACKER_DB_PASSWORD") or None)


def seen_keys_for(url: Any | None) -> SeenKeys:
    """Shared keys in the database at `url` (default: the tracker store's), else this process's memory."""
    url = url or tracker_database_url()
    if url is None:
        logger.warning("webhook replay cache in memory only: no tracker database configured (TRACKER_DB)")
        return MemorySeenKeys()
    return SqlSeenKeys(url)
