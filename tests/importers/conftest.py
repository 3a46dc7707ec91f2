"""The importers against a real store: an empty SQLite database migrated by Alembic, fresh for each test."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.importers.cli import main
from store.models import Customer, Order, Product
from tests.conftest import copy_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture
def store_url(migrated_template: Path, tmp_path: Path) -> str:
    return copy_database(migrated_template, tmp_path)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


def run_import(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str]:
    """The command as a shop owner runs it; its exit status and everything it printed."""
    code = main([*args, "--database-url", url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Product, Customer, Order))  # type: ignore[return-value]


def without_lines(source: Path, target: Path, lines: set[int]) -> Path:
    """A copy of a fixture without some of its rows (by the line they start on): the clean part of a file."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        rows, start = [next(reader)], reader.line_num + 1
        for row in reader:
            if start not in lines:
                rows.append(row)
            start = reader.line_num + 1
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return target
