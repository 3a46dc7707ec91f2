"""store.migrate on a store that already holds data: the upgrade a running shop takes, not only a fresh one."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.migrate import alembic_config, upgrade_database
from store.models import Order, Product
from store.seed import seed
from tests.store.conftest import FIXTURE


def test_a_seeded_store_upgrades_through_table_rebuilds_and_keeps_its_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_database(engine, "0005")  # before 0006 rebuilds `products`, which order lines point to
    seed(engine, FIXTURE, rng_seed=7, return_share=0.0)
    with Session(engine) as session:
        before = session.scalar(select(func.count(Order.id))), session.scalar(select(func.count(Product.id)))
    upgrade_database(engine)
    with Session(engine) as session:
        after = session.scalar(select(func.count(Order.id))), session.scalar(select(func.count(Product.id)))
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again for the app
    assert after == before and before[0] > 0
    engine.dispose()
