"""Shared test set-up.

The suite runs in two interpreters: tests/bot/ in the Rasa environment (Python 3.10), everything else
in the app environment (Python 3.11); each skips the other's folder. Fixtures that start real servers
are session-scoped: one seeded store database, one trained model, one Rasa + action server pair.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RASA_SIDE = sys.version_info < (3, 11)
TESTS = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    try:
        parts = collection_path.resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    if not parts or parts == ("conftest.py",):
        return None
    in_bot = parts[0] == "bot"
    return not in_bot if RASA_SIDE else in_bot

# Seeded from the real Online Retail sample with seed 7: stories and end-to-end tests name these orders.
DEMO_SEED = 7
DEMO_DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail_sample.csv"


def copy_database(template: Path, directory: Path) -> str:
    """URL of a private copy of a migrated (and maybe seeded) SQLite template: a fresh store per test, cheaply."""
    import shutil

    target = directory / "shop.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store migrated by Alembic once per session; tests take copies (copy_database)."""
    from store.db import make_engine
    from store.migrate import upgrade_database

    path = tmp_path_factory.mktemp("migrated-store") / "shop.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture
def sessions(store_url: str) -> Iterator[Any]:
    """Sessions on the folder's `store_url` (each test folder's conftest says what the store holds)."""
    from store.db import make_engine, session_factory

    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


def latest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("No trained model in models/: run `make train` (scripts/test.sh does it first).")
    return models[-1]


@pytest.fixture(scope="session")
def demo_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh store database seeded from the real data, shared by the end-to-end tests."""
    from store.seed import migrate_and_seed

    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'shop.db'}"
    migrate_and_seed(url, DEMO_DATA, rng_seed=DEMO_SEED)
    return url


def clear_identity_throttle(database_url: str) -> None:
    """Forget recorded identity-check failures, so one test's guesses don't pause another's look-ups."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from store.db import make_engine
    from store.security import ThrottleEvent
    from store.service import VERIFY_SCOPE

    engine = make_engine(database_url)
    with Session(engine) as s, s.begin():
        s.execute(delete(ThrottleEvent).where(ThrottleEvent.scope == VERIFY_SCOPE))
    engine.dispose()


@pytest.fixture(autouse=True)
def fresh_identity_throttle(request: pytest.FixtureRequest) -> Iterator[None]:
    """Failed identity checks count per order, email and client across conversations, and the tests share one
    demo store: each test that uses it starts and ends with none recorded."""
    if "demo_store_url" not in request.fixturenames:
        yield
        return
    url = request.getfixturevalue("demo_store_url")
    clear_identity_throttle(url)
    yield
    clear_identity_throttle(url)


@pytest.fixture(scope="session")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop's documents (knowledge/docs) ingested into a fresh embedded Chroma directory."""
    from knowledge.ingest import main as ingest

    directory = tmp_path_factory.mktemp("chroma")
    assert ingest([str(ROOT / "knowledge" / "docs"), "--chroma-dir", str(directory), "--no-progress"]) == 0
    return directory


@pytest.fixture(scope="session")
def shop_stack(demo_store_url: str, knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Real Rasa server + action server processes on free ports, with the trained model."""
    from runtime.stack import StackConfig, shopdesk_stack

    config = StackConfig(model=latest_model(), database_url=demo_store_url,
                         var_dir=tmp_path_factory.mktemp("var"),
                         extra_env={"SHOPDESK_KNOWLEDGE_DIR": str(knowledge_dir)})
    with shopdesk_stack(config):
        yield config
