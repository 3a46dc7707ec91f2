"""`shopdesk backup` / `restore` of a PostgreSQL store and tracker (the scale-out profile's databases) on the
machine's real PostgreSQL: pg_dump snapshots, restored into empty databases with every row kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert, select

from shopdesk.__main__ import main as shopdesk
from shopdesk.backup import Sources, backup
from store.db import make_engine
from store.seed import migrate_and_seed
from tests.store.conftest import FIXTURE
from training.logs import events, metadata

psycopg = pytest.importorskip("psycopg")


def admin():  # type: ignore[no-untyped-def]
    return psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True, connect_timeout=5)


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"shopdesk_{role}_{suffix}" for role in ("store", "tracker", "store2", "tracker2")}
    try:
        with admin() as conn:
            for name in names.values():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed (the scale-out profile's): {error}")
    try:
        yield {role: f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}" for role, name in names.items()}
    finally:
        with admin() as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(url: str) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    engine = make_engine(url)
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as connection:
        found = {name: sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
                 for name, table in reflected.tables.items()}
    engine.dispose()
    return found


def test_postgresql_store_and_tracker_round_trip(databases: dict[str, str], tmp_path: Path) -> None:
    migrate_and_seed(databases["store"], FIXTURE)
    tracker = make_engine(databases["tracker"])
    metadata.create_all(tracker)
    with tracker.begin() as connection:
        connection.execute(insert(events).values(sender_id="rest:pg", type_name="user", timestamp=1.0,
                                                 intent_name="greet", data='{"event": "user", "text": "hi"}'))
    tracker.dispose()
    sources = Sources.from_env({"SHOPDESK_DATABASE_URL": databases["store"],
                                "SHOPDESK_TRACKER_URL": databases["tracker"],
                                "SHOPDESK_MODELS_DIR": str(tmp_path / "none"),
                                "SHOPDESK_KNOWLEDGE_DIR": str(tmp_path / "none"),
                                "SHOPDESK_RECOMMENDER_DIR": str(tmp_path / "none"),
                                "SHOPDESK_UPLOAD_DIR": str(tmp_path / "none")})
    archive = backup(sources, tmp_path / "pg.tar.gz")

    target = tmp_path / "restored"
    assert shopdesk(["restore", str(archive), str(target)]) == 2  # a dump needs somewhere to go
    assert not target.exists()
    assert shopdesk(["restore", str(archive), str(target), "--store-url", databases["store2"],
                     "--tracker-url", databases["tracker2"]]) == 0
    before, after = rows(databases["store"]), rows(databases["store2"])
    assert after == before and before["orders"]
    assert rows(databases["tracker2"])["events"] == rows(databases["tracker"])["events"]
    assert (target / "shop.yml").is_file() and not (target / "shop.db").exists()
