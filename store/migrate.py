"""Run Alembic migrations programmatically, so setup, seeding, `shopdesk migrate` and tests share one code path."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from store.db import PROJECT_ROOT


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def head_revision() -> str:
    """The revision this checkout's migrations end at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "store/migrations has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated, e.g. an empty file)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Upgrade to `revision`. On SQLite, foreign keys are off while Alembic's batch mode rebuilds tables (a
    rebuild drops the old table, which rows elsewhere point to) and checked once the schema is upgraded."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # only outside a transaction does SQLite change this setting
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("the upgraded database has rows whose references do not hold")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def main() -> None:
    """`python -m store.migrate`: bring $SHOPDESK_DATABASE_URL's schema up to date without seeding anything
    (ShopDesk's own database when the orders live in the shop's system, docs/order-api.md)."""
    from store.db import database_url, make_engine

    engine = make_engine()
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    print(f"store migrated: {database_url().split('@')[-1]}")


if __name__ == "__main__":
    main()
