"""Run Alembic migrations programmatically, so setup, seeding and tests share one code path."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from store.db import PROJECT_ROOT


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
