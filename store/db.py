"""Engine and session factory for the store database, configured from the environment.

SHOPDESK_DATABASE_URL picks the database: SQLite under var/ by default (embedded profile),
PostgreSQL in the scale-out profile. One engine per process, created lazily.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    default = f"sqlite:///{PROJECT_ROOT / 'var' / 'shop.db'}"
    return os.environ.get("SHOPDESK_DATABASE_URL", default)


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool_settings())


def pool_settings() -> dict[str, int]:
    """Connection pool per process for server databases (PostgreSQL); see docs/deployment.md for sizing.

    SHOPDESK_DB_POOL_SIZE (10), SHOPDESK_DB_MAX_OVERFLOW (10), SHOPDESK_DB_POOL_TIMEOUT (seconds to wait
    for a free connection, 30), SHOPDESK_DB_POOL_RECYCLE (seconds, 1800).
    """
    env = os.environ.get
    return {"pool_size": int(env("SHOPDESK_DB_POOL_SIZE", "10")),
            "max_overflow": int(env("SHOPDESK_DB_MAX_OVERFLOW", "10")),
            "pool_timeout": int(env("SHOPDESK_DB_POOL_TIMEOUT", "30")),
            "pool_recycle": int(env("SHOPDESK_DB_POOL_RECYCLE", "1800"))}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Foreign keys on, and WAL so the action server and web apps can read while one writes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@cache
def default_engine() -> Engine:
    return make_engine()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(engine or default_engine(), expire_on_commit=False)
