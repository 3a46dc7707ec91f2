"""One deployment's state in one directory, and the settings that point every process at it.

The production profile (runtime/serve.py), `shopdesk backup --data-dir` and `shopdesk restore` agree on this
layout, so a restored directory is a deployment that starts as it is:

    shop.db        store database (SQLite; or SHOPDESK_DATABASE_URL elsewhere, e.g. PostgreSQL)
    tracker.db     Rasa's tracker store: the conversations
    chroma/        knowledge base (embedded Chroma)
    recommender/   recommender artifacts (<version>/, current)
    models/        trained Rasa models (the newest is served)
    uploads/       customers' images
    shop.yml       the shop profile (optional: SHOPDESK_SHOP_PROFILE or the repository's shop.yml otherwise)
    logs/, run/    process logs; generated proxy config, certificates, pid-less run state
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def store_db(self) -> Path:
        return self.root / "shop.db"

    @property
    def tracker_db(self) -> Path:
        return self.root / "tracker.db"

    @property
    def knowledge(self) -> Path:
        return self.root / "chroma"

    @property
    def recommender(self) -> Path:
        return self.root / "recommender"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def shop_profile(self) -> Path:
        return self.root / "shop.yml"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def env(self) -> dict[str, str]:
        """The variables that make the store, Rasa, the action server, the web app and the console use this
        directory (a shop.yml here wins over the repository's)."""
        env = {
            "SHOPDESK_DATABASE_URL": f"sqlite:///{self.store_db}",
            "TRACKER_DIALECT": "sqlite",
            "TRACKER_DB": str(self.tracker_db),
            "SHOPDESK_TRACKER_URL": f"sqlite:///{self.tracker_db}",
            "SHOPDESK_KNOWLEDGE_DIR": str(self.knowledge),
            "SHOPDESK_RECOMMENDER_DIR": str(self.recommender),
            "SHOPDESK_MODELS_DIR": str(self.models),
            "SHOPDESK_UPLOAD_DIR": str(self.uploads),
        }
        if self.shop_profile.is_file():
            env["SHOPDESK_SHOP_PROFILE"] = str(self.shop_profile)
        return env


def newest_model(models: Path) -> Path | None:
    """The model `rasa run --model DIR` serves: the newest .tar.gz directly in the directory."""
    found = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime) if models.is_dir() else []
    return found[-1] if found else None
