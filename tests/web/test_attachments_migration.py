"""Migration 0002 adds (and removes) the attachments table without touching the store's own tables."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from store.db import make_engine
from store.migrate import alembic_config, upgrade_database


def test_attachments_migration_upgrades_and_downgrades(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_database(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"attachments", "customers", "return_requests"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("attachments")}
    assert {"conversation_id", "customer_id", "return_request_id", "stored_name", "sha256"} <= columns

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "attachments" not in set(inspect(engine).get_table_names())
    assert "customers" in set(inspect(engine).get_table_names())
