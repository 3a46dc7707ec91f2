"""Every model version, and the rules for serving one: promote through the gate, roll back in one step.

The current model is the most recently promoted one still `promoted`. Promotion hot-loads the file into
the running Rasa server (`PUT /model`, token-protected): Rasa swaps its agent in place and conversations
live on in the tracker store, so nobody's chat is cut. The file is also copied into models/ (newest), so
a restarted `rasa run --model models` serves the same model.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from training.tables import ModelStatus, ModelVersion

MIN_OVERRIDE_REASON = 10


class PromotionRefused(ValueError):
    """The model may not be served (the message says why)."""


class RasaLoadFailed(RuntimeError):
    """The Rasa server did not take the model; nothing changed in the registry."""


@dataclass(frozen=True)
class ModelView:
    id: int
    path: str
    name: str
    status: str
    data_fingerprint: str
    metrics: dict[str, Any]
    report: dict[str, Any]
    gate_passed: bool | None
    note: str
    created_at: datetime
    promoted_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _view(m: ModelVersion) -> ModelView:
    return ModelView(id=m.id, path=m.path, name=Path(m.path).name, status=m.status,
                     data_fingerprint=m.data_fingerprint, metrics=json.loads(m.metrics or "{}"),
                     report=json.loads(m.report or "{}"), gate_passed=m.gate_passed, note=m.note,
                     created_at=m.created_at, promoted_at=m.promoted_at)


def load_into_rasa(rasa_url: str, token: str, model: Path, timeout_s: float = 600) -> None:
    """`PUT /model {"model_file": path}`: Rasa loads it and answers 204 once it serves it."""
    try:
        response = requests.put(f"{rasa_url.rstrip('/')}/model", params={"token": token} if token else {},
                                json={"model_file": str(model)}, timeout=timeout_s)
    except requests.RequestException as exc:
        raise RasaLoadFailed(f"The assistant server is not reachable ({type(exc).__name__}).") from exc
    if response.status_code not in (200, 204):
        raise RasaLoadFailed(f"The assistant server refused the model (HTTP {response.status_code}): "
                             f"{response.text[:300]}")


class ModelRegistry:
    def __init__(self, sessions: sessionmaker[Session], models_dir: Path, rasa_url: str = "",
                 rasa_token: str = "") -> None:
        self.sessions = sessions
        self.models_dir = models_dir
        self.rasa_url = rasa_url
        self.rasa_token = rasa_token

    def register(self, path: Path, status: ModelStatus, fingerprint: str = "", metrics: dict[str, Any] | None = None,
                 report: dict[str, Any] | None = None, gate_passed: bool | None = None, note: str = "") -> ModelView:
        now = utcnow()
        with self.sessions.begin() as s:
            m = ModelVersion(path=str(path), status=status, data_fingerprint=fingerprint,
                             metrics=json.dumps(metrics or {}), report=json.dumps(report or {}),
                             gate_passed=gate_passed, note=note, created_at=now,
                             promoted_at=now if status == ModelStatus.PROMOTED else None)
            s.add(m)
            s.flush()
            return _view(m)

    def get(self, model_id: int) -> ModelView | None:
        with self.sessions() as s:
            m = s.get(ModelVersion, model_id)
            return _view(m) if m else None

    def all(self) -> list[ModelView]:
        with self.sessions() as s:
            return [_view(m) for m in s.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()))]

    def current(self) -> ModelView | None:
        promoted = self._promoted(1)
        return promoted[0] if promoted else None

    def ensure_baseline(self) -> ModelView | None:
        """With nothing promoted yet, the newest model in models/ (what `rasa run --model models` serves)."""
        current = self.current()
        if current is not None:
            return current
        files = sorted(self.models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not files:
            return None
        return self.register(files[-1].resolve(), ModelStatus.PROMOTED, note="baseline: the model found in models/")

    def save_metrics(self, model_id: int, key: str, metrics: dict[str, Any]) -> None:
        """Cache an evaluation (keyed by held-out + stories fingerprints) so the same exam is not re-sat."""
        with self.sessions.begin() as s:
            m = s.get(ModelVersion, model_id)
            if m is not None:
                data = json.loads(m.metrics or "{}")
                data.setdefault("evaluations", {})[key] = metrics
                m.metrics = json.dumps(data)

    def promote(self, model_id: int, agent_id: int | None = None, override_reason: str = "") -> ModelView:
        """Serve the model: only if it passed the gate, or an admin gives a written reason to override."""
        model = self.get(model_id)
        if model is None:
            raise PromotionRefused("No such model version.")
        if model.status not in (ModelStatus.CANDIDATE, ModelStatus.REJECTED, ModelStatus.ROLLED_BACK):
            raise PromotionRefused(f"This model is {model.status}; only a candidate can be promoted.")
        override_reason = " ".join(override_reason.split())
        if not model.gate_passed and len(override_reason) < MIN_OVERRIDE_REASON:
            raise PromotionRefused("This model regresses beyond the tolerance: "
                                   + "; ".join(model.report.get("regressions") or ["not evaluated"])
                                   + f". To promote it anyway, write why (at least {MIN_OVERRIDE_REASON} "
                                   "characters).")
        self._serve(Path(model.path))
        with self.sessions.begin() as s:
            m = s.get(ModelVersion, model_id)
            assert m is not None
            m.status, m.promoted_at, m.promoted_by_id = ModelStatus.PROMOTED, utcnow(), agent_id
            if override_reason and not model.gate_passed:
                m.note = f"override: {override_reason}"
        return self.get(model_id)  # type: ignore[return-value]

    def reject(self, model_id: int, note: str = "") -> None:
        with self.sessions.begin() as s:
            m = s.get(ModelVersion, model_id)
            if m is None or m.status != ModelStatus.CANDIDATE:
                raise PromotionRefused("Only a candidate can be rejected.")
            m.status, m.note = ModelStatus.REJECTED, note or m.note

    def _promoted(self, limit: int) -> list[ModelView]:
        with self.sessions() as s:
            return [_view(m) for m in s.scalars(select(ModelVersion).where(ModelVersion.status == ModelStatus.PROMOTED)
                                                .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
                                                .limit(limit))]

    def previous(self) -> ModelView | None:
        """The model a rollback would serve again (None when there is none)."""
        promoted = self._promoted(2)
        return promoted[1] if len(promoted) == 2 else None

    def rollback(self, agent_id: int | None = None) -> ModelView:
        """Back to the previously promoted model: loaded into Rasa first, then the registry follows."""
        promoted = self._promoted(2)
        if len(promoted) < 2:
            raise PromotionRefused("There is no earlier promoted model to roll back to.")
        current, previous = promoted
        if not Path(previous.path).exists():
            raise PromotionRefused(f"The previous model's file is gone: {previous.path}")
        self._serve(Path(previous.path))
        with self.sessions.begin() as s:
            m = s.get(ModelVersion, current.id)
            assert m is not None
            m.status, m.note = ModelStatus.ROLLED_BACK, f"rolled back {utcnow():%Y-%m-%d %H:%M} UTC"
        return self.get(previous.id)  # type: ignore[return-value]

    def _serve(self, model: Path) -> None:
        if not model.exists():
            raise PromotionRefused(f"The model file is gone: {model}")
        if self.rasa_url:
            load_into_rasa(self.rasa_url, self.rasa_token, model.resolve())
        self._publish(model)

    def _publish(self, model: Path) -> None:
        """Make it the newest file in models/, which a restarted `rasa run --model models` loads."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        target = self.models_dir / model.name
        if model.resolve() != target.resolve():
            shutil.copyfile(model, target)
        os.utime(target)
