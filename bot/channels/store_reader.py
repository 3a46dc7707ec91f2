"""Read-only access to the store database from the Rasa side, for the channels' own checks.

The channels ask the store a question or two per message (is this conversation revoked? is it waiting in
the agents' queue?) with the SQLAlchemy that Rasa ships (1.4; the store package itself needs 2.x). The
database is the one the action server uses: SHOPDESK_DATABASE_URL, else the embedded profile's var/shop.db.
One engine per reader, created on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StoreReader:
    def __init__(self, database_url: str | None = None) -> None:
        self.database_url = database_url or os.environ.get("SHOPDESK_DATABASE_URL") or \
            f"sqlite:///{PROJECT_ROOT / 'var' / 'shop.db'}"
        self._engine: Any = None

    def _engine_or_create(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            options: dict[str, Any] = {"pool_pre_ping": True}
            if self.database_url.startswith("sqlite"):
                options = {"connect_args": {"timeout": 10}}
            self._engine = create_engine(self.database_url, **options)
        return self._engine
