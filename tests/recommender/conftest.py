"""A small real store (invented Online Retail lines), seeded through the real seeder, and a model trained on it.

Training runs once per session through the real CLI code path (real encoder, real EASE fit, real artifact
on disk); tests that change the store or the artifact get their own copies.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from recommender import train as training
from recommender.artifact import ModelHolder
from recommender.model import Params
from recommender.service import RecommendationService
from store.db import make_engine
from store.migrate import upgrade_database
from store.models import Order, Product
from store.seed import seed

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "online_retail_small.csv"
SOLD_OUT_SKU = "79321"     # Chilli Lights
NEW_PRODUCT_SKU = "99901"  # added to the catalogue, never ordered
SIGNING_KEY = "test-signing-key-for-recommender-0123456789"


def build_store(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    seed(engine, FIXTURE, rng_seed=7, anchor=date(2026, 11, 25), return_share=0.0)
    with Session(engine) as session, session.begin():
        session.execute(update(Product).values(stock=25))
        session.execute(update(Product).where(Product.sku == SOLD_OUT_SKU).values(stock=0))
        session.add(Product(sku=NEW_PRODUCT_SKU, name="Woodland Fox Night Light", unit_price=Decimal("6.50"),
                            stock=8))
    return engine


@pytest.fixture(scope="session")
def store_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = build_store(tmp_path_factory.mktemp("store") / "shop.db")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def trained_root(store_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recommender")
    training.train(str(store_engine.url), root, Params(), holdout_days=30, progress=False)
    return root


@pytest.fixture
def artifact_copy(trained_root: Path, tmp_path: Path) -> Path:
    """A private copy of the trained artifact, for tests that retrain or break it."""
    root = tmp_path / "recommender"
    shutil.copytree(trained_root, root)
    return root


@pytest.fixture(scope="session")
def service(store_engine: Engine, trained_root: Path) -> RecommendationService:
    return RecommendationService(store_engine, ModelHolder(trained_root))


@pytest.fixture
def modelless_service(store_engine: Engine, tmp_path: Path) -> RecommendationService:
    return RecommendationService(store_engine, ModelHolder(tmp_path / "no-model-here"))


@pytest.fixture(scope="session")
def purchases(store_engine: Engine):
    """customer id -> names of the products they kept (not cancelled), straight from the store."""
    from recommender.data import customer_purchases

    def lookup(customer_id: int) -> set[str]:
        skus = {sku for sku, _ in customer_purchases(store_engine, customer_id)}
        with Session(store_engine) as session:
            return set(session.scalars(select(Product.name).where(Product.sku.in_(skus))))

    return lookup


@pytest.fixture(scope="session")
def order_numbers(store_engine: Engine):
    def lookup(customer_id: int) -> list[str]:
        with Session(store_engine) as session:
            return list(session.scalars(select(Order.number).where(Order.customer_id == customer_id)))

    return lookup
