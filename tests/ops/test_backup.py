"""`shopdesk backup` / `shopdesk restore` on a live data directory: a real SQLite store and tracker (WAL, a
writer mid-transaction), a real Chroma knowledge base, recommender artifacts, a model file, uploads and the
shop profile. The restored directory holds the same orders and conversations, read back through the code
that serves them; damaged archives and non-empty targets are refused with nothing changed."""

from __future__ import annotations

import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import insert

from shopdesk.__main__ import main as shopdesk
from shopdesk.layout import DataDir
from store.db import make_engine
from store.seed import seed
from tests.store.conftest import FIXTURE
from tests.store.test_upgrade import snapshot
from training.logs import events, metadata, tracker_engine

ROOT = Path(__file__).resolve().parent.parent.parent
CONVERSATION = "web:4f1c2a"


def conversation(tracker_url: str) -> list[tuple[str, str | None, str]]:
    engine = tracker_engine(tracker_url)
    with engine.connect() as connection:
        rows = connection.execute(events.select().order_by(events.c.id)).all()
    engine.dispose()
    return [(r.sender_id, r.intent_name, r.data) for r in rows]


@pytest.fixture
def live(tmp_path: Path, migrated_template: Path) -> DataDir:
    """A data directory as a running deployment leaves it."""
    data = DataDir(tmp_path / "live")
    data.root.mkdir()
    shutil.copyfile(migrated_template, data.store_db)
    engine = make_engine(f"sqlite:///{data.store_db}")  # WAL, as the servers open it
    seed(engine, FIXTURE, rng_seed=7)
    engine.dispose()
    tracker = tracker_engine(f"sqlite:///{data.tracker_db}")
    metadata.create_all(tracker)
    with tracker.begin() as connection:
        for i, text in enumerate(["where is my order 900001", "cancel it", "yes"]):
            connection.execute(insert(events).values(
                sender_id=CONVERSATION, type_name="user", timestamp=1_700_000_000 + i, intent_name="track_order",
                data=f'{{"event": "user", "text": "{text}"}}'))
    tracker.dispose()
    import chromadb

    client = chromadb.PersistentClient(path=str(data.knowledge))
    client.create_collection("shopdesk-knowledge").add(
        ids=["returns-1", "delivery-1"], embeddings=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        documents=["Returns are free within 30 days.", "We deliver in 2-3 working days."])
    del client
    version = data.recommender / "20261101T000000000000Z-abcdef12"
    version.mkdir(parents=True)
    (version / "manifest.json").write_text('{"format": 1}')
    (version / "arrays.npz").write_bytes(b"\x93NUMPY fake arrays")
    (data.recommender / "current").write_text(version.name + "\n")
    (data.recommender / "20251101T000000000000Z-00000000").mkdir()  # an old version: history, not state
    data.models.mkdir()
    (data.models / "shopdesk.tar.gz").write_bytes(b"model bytes " * 1000)
    data.uploads.mkdir()
    (data.uploads / "0123abcd.png").write_bytes(b"\x89PNG\r\n\x1a\n image")
    shutil.copyfile(ROOT / "shop.yml", data.shop_profile)
    return data


def test_backup_then_restore_into_an_empty_directory_gives_the_same_deployment(live: DataDir, tmp_path: Path) -> None:
    orders_before = snapshot(live.store_db)
    talk_before = conversation(f"sqlite:///{live.tracker_db}")
    # A server is mid-write while the backup runs: the snapshot holds what was committed, nothing half-done.
    writer = sqlite3.connect(live.store_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE orders SET status = 'cancelled'")
    try:
        assert shopdesk(["backup", "--data-dir", str(live.root), "--output", str(tmp_path / "backups")]) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    [archive] = (tmp_path / "backups").glob("shopdesk-backup-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0  # customers' data: owner only

    restored = DataDir(tmp_path / "restored")
    assert shopdesk(["restore", str(archive), str(restored.root)]) == 0

    assert snapshot(restored.store_db) == orders_before
    assert conversation(f"sqlite:///{restored.tracker_db}") == talk_before and len(talk_before) == 3
    import chromadb

    found = chromadb.PersistentClient(path=str(restored.knowledge)).get_collection("shopdesk-knowledge").query(
        query_embeddings=[[0.0, 0.9, 0.1]], n_results=1)
    assert found["documents"] == [["We deliver in 2-3 working days."]]
    from recommender.artifact import current_version

    assert current_version(restored.recommender) == "20261101T000000000000Z-abcdef12"
    assert not (restored.recommender / "20251101T000000000000Z-00000000").exists()
    assert (restored.models / "shopdesk.tar.gz").read_bytes() == (live.models / "shopdesk.tar.gz").read_bytes()
    assert (restored.uploads / "0123abcd.png").read_bytes() == (live.uploads / "0123abcd.png").read_bytes()
    assert restored.shop_profile.read_text() == live.shop_profile.read_text()
    assert not (restored.root / ".restoring").exists()
    assert DataDir(restored.root).env()["SHOPDESK_SHOP_PROFILE"] == str(restored.shop_profile)


def test_restore_refuses_a_non_empty_directory_and_a_damaged_archive(live: DataDir, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "b.tar.gz"
    assert shopdesk(["backup", "--data-dir", str(live.root), "--output", str(archive)]) == 0
    assert shopdesk(["backup", "--data-dir", str(live.root), "--output", str(archive)]) == 2  # never overwrites

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert shopdesk(["restore", str(archive), str(busy)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "uploads/0123abcd.png":
                import io

                content = b"tampered" + data.read()
                member.size = len(content)
                data = io.BytesIO(content)
            target.addfile(member, data)
    assert shopdesk(["restore", str(damaged), str(tmp_path / "fresh")]) == 2
    assert "damaged: uploads/0123abcd.png" in capsys.readouterr().err
    assert not (tmp_path / "fresh").exists()
    assert shopdesk(["restore", str(tmp_path / "none.tar.gz"), str(tmp_path / "fresh")]) == 2
