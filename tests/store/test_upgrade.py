"""Upgrading a published release's store: a database made by that release's own code (with orders, customers,
agents, handoffs, uploads and throttle records in it) goes through `shopdesk migrate` and loses nothing."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from shopdesk.__main__ import main as shopdesk
from shopdesk.releases import STORE_SCHEMAS
from store.db import make_engine
from store.migrate import head_revision

RELEASES = Path(__file__).resolve().parent.parent / "fixtures" / "releases"
VERSIONS = Path(__file__).resolve().parents[2] / "store" / "migrations" / "versions"


def intended_rewrites() -> dict[str, str]:
    """Canned-reply texts a migration rewrites on purpose (0009: shop facts become profile placeholders)."""
    spec = importlib.util.spec_from_file_location("m0009", VERSIONS / "0009_canned_replies_placeholders.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return {old: new for _, old, new in module.REWRITTEN}


def load_dump(dump: Path, target: Path) -> None:
    connection = sqlite3.connect(target)
    connection.executescript(dump.read_text())
    connection.close()


def snapshot(path: Path) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table, keyed by primary key: {table: {pk: {column: value}}}."""
    engine = make_engine(f"sqlite:///{path}")
    inspector = inspect(engine)
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            key = inspector.get_pk_constraint(table)["constrained_columns"]
            rows = [dict(r) for r in connection.execute(f'SELECT * FROM "{table}"')]
            tables[table] = {tuple(r[c] for c in key): r for r in rows}
    engine.dispose()
    return tables


@pytest.mark.parametrize("release", sorted(STORE_SCHEMAS))
def test_a_released_store_with_data_upgrades_and_keeps_every_row(release: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "shop.db"
    load_dump(RELEASES / f"store-{release}.sql", path)
    url = f"sqlite:///{path}"
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == STORE_SCHEMAS[release]
    before = snapshot(path)
    assert sum(len(rows) for rows in before.values()) > 40 and before["orders"] and before["handoffs"]

    assert shopdesk(["migrate", "--check", "--database-url", url]) == 1  # behind: says so, changes nothing
    assert snapshot(path) == before
    assert shopdesk(["migrate", "--database-url", url]) == 0
    assert f"{STORE_SCHEMAS[release]} -> {head_revision()}" in capsys.readouterr().out
    assert shopdesk(["migrate", "--check", "--database-url", url]) == 0

    after = snapshot(path)
    for row in before.get("canned_replies", {}).values():
        row["text"] = intended_rewrites().get(row["text"], row["text"])
    for table, rows in before.items():
        assert table in after, f"table {table} is gone"
        assert after[table].keys() == rows.keys(), f"rows of {table} lost or added"
        for key, row in rows.items():
            kept = {column: after[table][key][column] for column in row}
            assert kept == row, f"{table} {key} changed"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_upgraded_store_is_read_by_this_release(tmp_path: Path) -> None:
    """The current code (ORM, order desk, console accounts) works on the upgraded data."""
    from console.models import Agent, Handoff
    from store.models import Order
    from store.service import OrderDesk

    release = max(STORE_SCHEMAS)
    path = tmp_path / "shop.db"
    load_dump(RELEASES / f"store-{release}.sql", path)
    assert shopdesk(["migrate", "--database-url", f"sqlite:///{path}"]) == 0
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        order = session.scalars(select(Order).order_by(Order.id)).first()
        assert session.scalars(select(Agent)).one().email == "agent@shop.example"
        assert session.scalars(select(Handoff)).one().claimed_by.display_name == "Ada"
    from sqlalchemy.orm import sessionmaker

    desk = OrderDesk(sessionmaker(engine, expire_on_commit=False))
    assert order.number in [o.number for o in desk.recent_orders(order.customer_id)]
    assert desk.order(order.customer_id, order.number).lines
    engine.dispose()
