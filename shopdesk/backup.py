"""`shopdesk backup` / `shopdesk restore`: one archive holding everything a deployment knows.

What goes in (manifest.json lists every file with its SHA-256, the release and the store's schema revision):
the tracker store (the conversations), the store database (orders, customers, console, training loop), the
knowledge base, the served recommender version, the served Rasa model, customers' uploads and the shop
profile. Secrets are not in it: they live in the environment (`.env`, the platform's secret store) and must
be kept there; a restored deployment needs the same SHOPDESK_SIGNING_KEY for issued tokens to stay valid.

Consistency: SQLite databases are copied with SQLite's online backup API (a consistent snapshot while the
servers keep writing, WAL included), PostgreSQL ones with `pg_dump` (one snapshot per database). The tracker
is taken first and the store second, so an order change whose confirmation is in the saved conversation is
always in the saved store too (at worst the store holds a change the conversation had not yet reported).
The knowledge base's own SQLite file is snapshotted the same way; the rest are plain files written once.

Restore writes into an empty directory in the data-directory layout (shopdesk/layout.py), which
`shopdesk serve --data-dir DIR` starts as it is; PostgreSQL dumps go into the (empty) databases given.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shopdesk import PROJECT_ROOT, __version__
from shopdesk.layout import DataDir, newest_model

FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why (and nothing was changed)."""


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = Path(env[name]) if env.get(name) else default
    return value if value.is_absolute() else PROJECT_ROOT / value


@dataclass(frozen=True)
class Sources:
    """Where a running deployment keeps each part, read from the same variables its processes read."""

    store_url: str
    tracker_url: str
    knowledge: Path
    recommender: Path
    models: Path
    uploads: Path
    shop_profile: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Sources:
        from training.settings import tracker_url

        env = os.environ if env is None else env
        var = PROJECT_ROOT / "var"
        profile = env.get("SHOPDESK_SHOP_PROFILE", "").strip()
        return cls(
            store_url=env.get("SHOPDESK_DATABASE_URL") or f"sqlite:///{var / 'shop.db'}",
            tracker_url=tracker_url(env),
            knowledge=_path(env, "SHOPDESK_KNOWLEDGE_DIR", var / "chroma"),
            recommender=_path(env, "SHOPDESK_RECOMMENDER_DIR", var / "recommender"),
            models=_path(env, "SHOPDESK_MODELS_DIR", PROJECT_ROOT / "models"),
            uploads=_path(env, "SHOPDESK_UPLOAD_DIR", var / "uploads"),
            shop_profile=Path(profile) if profile else PROJECT_ROOT / "shop.yml",
        )

    @classmethod
    def of_data_dir(cls, root: Path) -> Sources:
        return cls.from_env({**os.environ, **DataDir(root).env()})


# ------------------------------------------------------------------------------------------------ databases

def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, None for any other database."""
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[-1])


def libpq_url(url: str) -> str:
    """postgresql+psycopg://… (SQLAlchemy) -> postgresql://… (pg_dump, pg_restore)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API; readers and writers go on)."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    # Not mode=ro: a read-only connection cannot open a WAL database whose -shm file is missing.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def dump_database(url: str, staging: Path, name: str) -> str:
    """Snapshot one database into `staging`; returns the member's name (NAME.db or NAME.pgdump)."""
    path = sqlite_path(url)
    if path is not None:
        snapshot_sqlite(path, staging / f"{name}.db")
        return f"{name}.db"
    if not url.startswith("postgresql"):
        raise BackupError(f"cannot back up {url.split(':', 1)[0]} databases (SQLite and PostgreSQL only)")
    target = staging / f"{name}.pgdump"
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), libpq_url(url)])
    return target.name


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install -y postgresql-client)")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")


def store_revision(url: str) -> str | None:
    from store.db import make_engine
    from store.migrate import current_revision

    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------ files

def copy_tree(source: Path, target: Path) -> None:
    """Copy a directory; SQLite files inside (Chroma's index) through the online backup API."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix in {".sqlite3", ".db"}:
                snapshot_sqlite(path, destination)
            elif not path.name.endswith(("-wal", "-shm", "-journal")):
                shutil.copy2(path, destination)
    target.mkdir(parents=True, exist_ok=True)


def copy_recommender(source: Path, target: Path) -> bool:
    """The version `current` names and the pointer itself (older versions are history, not state)."""
    pointer = source / "current"
    if not pointer.is_file():
        return False
    version = pointer.read_text().strip()
    if not (source / version).is_dir():
        raise BackupError(f"{pointer} names version {version!r}, which is not in {source}")
    shutil.copytree(source / version, target / version)
    shutil.copy2(pointer, target / "current")
    return True


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ backup

def backup(sources: Sources, output: Path) -> Path:
    """Write the archive to `output`: a file name ending in .tar.gz, else a directory for a dated one."""
    created = datetime.now(UTC)
    if output.is_dir() or not output.name.endswith((".tar.gz", ".tgz")):
        output.mkdir(parents=True, exist_ok=True)
        output = output / f"shopdesk-backup-{created:%Y%m%dT%H%M%SZ}.tar.gz"
    if output.exists():
        raise BackupError(f"{output} already exists")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".shopdesk-backup-", dir=output.parent) as work:
        staging = Path(work) / "backup"
        staging.mkdir()
        parts: dict[str, str | None] = {}
        parts["tracker"] = dump_database(sources.tracker_url, staging, "tracker")  # first: see the module doc
        parts["store"] = dump_database(sources.store_url, staging, "store")
        revision = store_revision(sources.store_url)
        parts["knowledge"] = None
        if sources.knowledge.is_dir():
            copy_tree(sources.knowledge, staging / "knowledge")
            parts["knowledge"] = "knowledge"
        parts["recommender"] = "recommender" if copy_recommender(sources.recommender, staging / "recommender") \
            else None
        model = newest_model(sources.models)
        parts["model"] = None
        if model is not None:
            (staging / "models").mkdir()
            shutil.copy2(model, staging / "models" / model.name)
            parts["model"] = f"models/{model.name}"
        parts["uploads"] = None
        if sources.uploads.is_dir():
            copy_tree(sources.uploads, staging / "uploads")
            parts["uploads"] = "uploads"
        parts["shop_profile"] = None
        if sources.shop_profile.is_file():
            shutil.copy2(sources.shop_profile, staging / "shop.yml")
            parts["shop_profile"] = "shop.yml"
        manifest = {"format": FORMAT, "shopdesk_version": __version__, "created_at": created.isoformat(),
                    "store_revision": revision, "parts": parts, "files": checksums(staging)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for path in sorted(staging.iterdir()):
                archive.add(path, arcname=path.name)
        os.chmod(partial, 0o600)  # customers' conversations and addresses: owner only, like .env
        os.replace(partial, output)
    return output


# ------------------------------------------------------------------------------------------------ restore

# archive member -> where it goes in the data directory
PLACES = {"store.db": "shop.db", "tracker.db": "tracker.db", "knowledge": "chroma", "recommender": "recommender",
          "models": "models", "uploads": "uploads", "shop.yml": "shop.yml"}


def read_manifest(staging: Path) -> dict:  # type: ignore[type-arg]
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"not a ShopDesk backup (no readable {MANIFEST}: {error})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT} (made by a newer release?)")
    found = checksums(staging)
    found.pop(MANIFEST, None)
    if found != manifest["files"]:
        bad = sorted(set(found) ^ set(manifest["files"]) |
                     {n for n in found if manifest["files"].get(n) not in (None, found[n])})
        raise BackupError(f"the backup is damaged: {', '.join(bad[:5])} differ from its manifest")
    return manifest


def restore(archive: Path, target: Path, store_url: str | None = None,
            tracker_url: str | None = None) -> dict:  # type: ignore[type-arg]
    """Unpack `archive` into the empty directory `target`; PostgreSQL dumps into the databases given.

    Returns the manifest. On any error nothing is left behind in `target`.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not empty: restore only into an empty or new directory")
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist")
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        staging = target / ".restoring"
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise BackupError(f"cannot read {archive}: {error}") from None
        manifest = read_manifest(staging)
        for member, place in PLACES.items():
            if (staging / member).exists():
                os.replace(staging / member, target / place)
        for name, url in (("store", store_url), ("tracker", tracker_url)):
            dump = staging / f"{name}.pgdump"
            if dump.exists():
                if not url:
                    raise BackupError(f"the {name} database is a PostgreSQL dump: give --{name}-url (an empty "
                                      "database to restore it into)")
                _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                      libpq_url(url), str(dump)])
        shutil.rmtree(staging)
        for directory in ("uploads", "logs", "run"):
            (target / directory).mkdir(exist_ok=True)
        return manifest
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
