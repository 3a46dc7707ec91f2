from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from store.db import make_engine
from store.migrate import upgrade_database
from store.seed import seed
from store.service import OrderDesk

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "online_retail_tiny.csv"


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, return_share=0.0)
    yield engine
    engine.dispose()


@pytest.fixture
def desk(engine) -> OrderDesk:
    return OrderDesk(sessionmaker(engine, expire_on_commit=False))
