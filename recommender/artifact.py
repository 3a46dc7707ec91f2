"""Versioned model artifacts on disk, and a holder that swaps in a newly trained one without a restart.

Layout (SHOPDESK_RECOMMENDER_DIR, default var/recommender):
    <version>/manifest.json   data fingerprint, params, metrics, created time, format
    <version>/arrays.npz      the model's arrays
    <version>/catalogue.json  skus and names in matrix order
    current                   the name of the version to serve (written atomically, last)
A version directory is complete before `current` points at it, so a reader never sees half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommender.model import HybridModel, Params
from store.db import PROJECT_ROOT

FORMAT = 1
POINTER = "current"


class ArtifactError(Exception):
    """The artifact is missing, incomplete or of another format; the message says which."""


def artifact_root() -> Path:
    return Path(os.environ.get("SHOPDESK_RECOMMENDER_DIR", PROJECT_ROOT / "var" / "recommender"))


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: HybridModel
    manifest: dict[str, object]


def save(model: HybridModel, root: Path, fingerprint: str, metrics: dict[str, object],
         stats: dict[str, object], keep: int = 3) -> str:
    """Write a new version, then point `current` at it; keeps the newest `keep` versions."""
    created = datetime.now(UTC)
    version = f"{created:%Y%m%dT%H%M%S%fZ}-{fingerprint[:8]}"
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{version}.tmp"
    staging.mkdir()
    np.savez(staging / "arrays.npz", **model.arrays())
    (staging / "catalogue.json").write_text(json.dumps(
        {"skus": model.skus, "names": model.names, "countries": sorted(model.country_popular)}))
    manifest = {"format": FORMAT, "version": version, "created_at": created.isoformat(),
                "data_fingerprint": fingerprint, "params": model.params.to_dict(), "metrics": metrics,
                "stats": stats}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    staging.rename(root / version)
    _point_at(root, version)
    _prune(root, keep, version)
    return version


def _point_at(root: Path, version: str) -> None:
    tmp = root / f".{POINTER}.tmp"
    tmp.write_text(version + "\n")
    os.replace(tmp, root / POINTER)


def _prune(root: Path, keep: int, current: str) -> None:
    versions = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-keep] if keep > 0 else []:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def current_version(root: Path) -> str | None:
    try:
        version = (root / POINTER).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return version or None


def load(root: Path, version: str | None = None) -> LoadedModel:
    version = version or current_version(root)
    if not version or "/" in version or version.startswith("."):
        raise ArtifactError(f"no trained recommender under {root} (run: python -m recommender.train)")
    folder = root / version
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        catalogue = json.loads((folder / "catalogue.json").read_text())
        with np.load(folder / "arrays.npz") as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, KeyError) as error:
        raise ArtifactError(f"recommender artifact {folder} is unreadable: {error}") from error
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"recommender artifact {folder} has format {manifest.get('format')}, expected {FORMAT}")
    params = Params.from_dict(manifest["params"])
    model = HybridModel.from_arrays(catalogue["skus"], catalogue["names"], catalogue["countries"], params, arrays)
    return LoadedModel(version, model, manifest)


class ModelHolder:
    """Serves the version `current` names; notices a new one on the next request (a stat per request)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or artifact_root()
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._pointer_stamp: tuple[float, int] | None = None
        self.last_error: str | None = None

    def get(self) -> LoadedModel | None:
        """The current model, reloading it if `current` changed; None when there is none (callers fall back)."""
        stamp = self._stamp()
        if stamp == self._pointer_stamp and (self._loaded is not None or stamp is None):
            return self._loaded
        with self._lock:
            if stamp != self._pointer_stamp or (self._loaded is None and stamp is not None):
                self.reload()
        return self._loaded

    def reload(self) -> LoadedModel | None:
        """Load whatever `current` names now; keeps serving the previous model if the new one is broken."""
        stamp = self._stamp()
        version = current_version(self.root)
        self._pointer_stamp = stamp
        if version is None:
            self._loaded, self.last_error = None, f"no trained recommender under {self.root}"
            return None
        if self._loaded is not None and self._loaded.version == version:
            return self._loaded
        try:
            self._loaded, self.last_error = load(self.root, version), None
        except ArtifactError as error:
            self.last_error = str(error)
        return self._loaded

    def _stamp(self) -> tuple[float, int] | None:
        try:
            info = (self.root / POINTER).stat()
        except OSError:
            return None
        return (info.st_mtime, info.st_ino)
