"""Where the training loop reads and writes: paths, the tracker store URL, the Rasa executable, the gate.

Everything is a parameter (tests run the whole loop in temporary directories and never touch the real
training_data/ or models/); the defaults are the project's own files, overridable from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXPORT_FILE = Path("nlu") / "from_logs.yml"
RASA_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def tracker_url(environ: Mapping[str, str] | None = None) -> str:
    """SHOPDESK_TRACKER_URL, else the SQLite file endpoints.yml points Rasa at (TRACKER_DB)."""
    env = os.environ if environ is None else environ
    if env.get("SHOPDESK_TRACKER_URL"):
        return env["SHOPDESK_TRACKER_URL"]
    db = Path(env.get("TRACKER_DB") or "var/tracker.db")
    return f"sqlite:///{db if db.is_absolute() else PROJECT_ROOT / db}"


@dataclass(frozen=True)
class TrainingSettings:
    tracker_url: str = field(default_factory=tracker_url)
    data_dir: Path = PROJECT_ROOT / "training_data"
    domain: Path = PROJECT_ROOT / "domain.yml"
    config: Path = PROJECT_ROOT / "config.yml"
    models_dir: Path = PROJECT_ROOT / "models"
    test_stories_dir: Path = PROJECT_ROOT / "tests" / "stories"
    work_dir: Path = PROJECT_ROOT / "var" / "training"
    rasa_bin: Path = PROJECT_ROOT / ".venv" / "rasa" / "bin" / "rasa"
    rasa_cache_dir: str = ""  # RASA_CACHE_DIRECTORY for training; empty: Rasa's default / the environment's
    tolerance: float = 0.02  # an overall accuracy or per-intent F1 drop above this blocks promotion
    heldout_fraction: float = 0.2
    rasa_timeout_s: int = 3600

    @property
    def export_file(self) -> Path:
        return self.data_dir / EXPORT_FILE

    @property
    def from_logs_stories_dir(self) -> Path:
        return self.test_stories_dir / "from_logs"

    @property
    def candidates_dir(self) -> Path:
        """Outside models/ itself: `rasa run --model models` loads the newest file there on a restart."""
        return self.models_dir / "candidates"

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingSettings:
        paths = {"data_dir", "domain", "config", "models_dir", "test_stories_dir", "work_dir", "rasa_bin"}
        known = {k: (Path(v) if k in paths else v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def with_(self, **changes: Any) -> TrainingSettings:
        return replace(self, **changes)


def settings_from_env(environ: Mapping[str, str] | None = None) -> TrainingSettings:
    env = os.environ if environ is None else environ

    def path(name: str, default: Path) -> Path:
        return Path(env[name]) if env.get(name) else default

    base = TrainingSettings()
    return TrainingSettings(
        tracker_url=tracker_url(env),
        data_dir=path("SHOPDESK_TRAINING_DATA", base.data_dir),
        domain=path("SHOPDESK_TRAINING_DOMAIN", base.domain),
        config=path("SHOPDESK_TRAINING_CONFIG", base.config),
        models_dir=path("SHOPDESK_MODELS_DIR", base.models_dir),
        test_stories_dir=path("SHOPDESK_TEST_STORIES", base.test_stories_dir),
        work_dir=path("SHOPDESK_TRAINING_WORK_DIR", base.work_dir),
        rasa_bin=path("SHOPDESK_RASA_BIN", base.rasa_bin),
        rasa_cache_dir=env.get("RASA_CACHE_DIRECTORY", ""),
        tolerance=float(env.get("SHOPDESK_PROMOTION_TOLERANCE", base.tolerance)),
    )
