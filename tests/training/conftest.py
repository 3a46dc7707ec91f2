"""Fixtures for the training loop: a migrated store database and a tiny Rasa project in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_database
from tests.training.support import TrackerWriter, write_project
from training.settings import TrainingSettings


@pytest.fixture
def store_url(migrated_template: Path, tmp_path: Path) -> str:
    return copy_database(migrated_template, tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> TrainingSettings:
    return write_project(tmp_path / "project")


@pytest.fixture
def tracker(project: TrainingSettings) -> TrackerWriter:
    return TrackerWriter(project.tracker_url)
