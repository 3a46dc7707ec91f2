"""The same import on the machine's real PostgreSQL (the scale-out profile's store), in a database of its own."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.scaleout import SERVICE_STARTERS, port_open
from store.db import make_engine
from store.models import Order, OrderStatus
from tests.importers.conftest import FIXTURES, counts, run_import

PG_HOST, PG_PORT, PG_ADMIN = "127.0.0.1", 5432, "postgres"


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    import psycopg
    from psycopg import sql

    if not port_open(PG_HOST, PG_PORT):  # started the way the scale-out profile starts it
        subprocess.run(SERVICE_STARTERS["postgresql"], shell=True, check=False, capture_output=True)
        deadline = time.monotonic() + 60
        while not port_open(PG_HOST, PG_PORT):
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL is not running on {PG_HOST}:{PG_PORT} and could not be started")
            time.sleep(0.5)
    name = f"shopdesk_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{PG_ADMIN}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_shopify_import_on_postgresql_is_atomic_and_idempotent(capsys, pg_store_url) -> None:
    args = ("shopify", "--products", str(FIXTURES / "shopify_products.csv"),
            "--orders", str(FIXTURES / "shopify_orders.csv"))
    code, out = run_import(capsys, pg_store_url, *args)  # migrates the empty database, then refuses the bad rows
    assert code == 1 and "5 bad row(s)" in out
    engine = make_engine(pg_store_url)
    try:
        assert counts(engine) == (0, 0, 0)
        code, out = run_import(capsys, pg_store_url, *args, "--skip-bad-rows")
        assert code == 0 and counts(engine) == (4, 3, 4)
        code, out = run_import(capsys, pg_store_url, *args, "--skip-bad-rows")
        assert "orders:    0 new, 0 updated, 4 unchanged" in out and counts(engine) == (4, 3, 4)
        with Session(engine) as s:
            order = s.scalar(select(Order).where(Order.number == "1003"))
            assert order.status is OrderStatus.RETURNED and order.currency == "USD"
            assert order.shipment.tracking_number == "1Z999AA10123456784"
    finally:
        engine.dispose()
