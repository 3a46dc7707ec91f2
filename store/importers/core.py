"""One import, start to end: read the files as a format, check every row, write in one transaction.

Nothing is half-written: the products and orders files go in together in a single transaction, committed
only when no row is bad (or, with `skip_bad_rows`, when the bad ones are left out: an order is always left
out whole). A dry run does all the same work, counts included, and rolls it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from store.importers import assemble
from store.importers.assemble import ReadOptions
from store.importers.csvfile import CsvFile
from store.importers.records import OrderRecord, OrderRow, Parsed, Problem, ProductRecord, ProductRow
from store.importers.write import Outcome, write
from store.migrate import upgrade_database
from store.models import OrderStatus


class ExportFormat(Protocol):
    """What a format module provides: its statuses, and its rows in the shared shapes."""

    name: str
    statuses: Mapping[str, OrderStatus]
    delimiter: str

    def product_rows(self, file: CsvFile) -> Iterator[tuple[int, ProductRow]]: ...

    def order_rows(self, file: CsvFile) -> Iterator[tuple[int, OrderRow]]: ...


@dataclass
class Report:
    """What an import did (or, when nothing was written, would have done) and what it refused."""

    outcome: Outcome
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False


def read(export: ExportFormat, options: ReadOptions, products: Path | None = None,
         orders: Path | None = None) -> tuple[Parsed[ProductRecord], Parsed[OrderRecord]]:
    """Both files checked, before the database is touched (a file-level error raises ImportFileError)."""
    product_files = CsvFile(products, export.delimiter) if products else None
    order_files = CsvFile(orders, export.delimiter) if orders else None
    parsed_products: Parsed[ProductRecord] = Parsed()
    parsed_orders: Parsed[OrderRecord] = Parsed()
    if product_files:
        parsed_products = assemble.products(product_files.name, export.product_rows(product_files), options)
    if order_files:
        parsed_orders = assemble.orders(order_files.name, export.order_rows(order_files), options)
    return parsed_products, parsed_orders


def run(engine: Engine, products: Parsed[ProductRecord], orders: Parsed[OrderRecord], dry_run: bool = False,
        skip_bad_rows: bool = False) -> Report:
    """Migrate the store to the current schema, then write the good records in one transaction."""
    problems = products.problems + orders.problems
    commit = not dry_run and (skip_bad_rows or not problems)
    upgrade_database(engine)
    with Session(engine) as session:  # closing without a commit rolls everything back
        outcome = write(session, products.records, orders.records)
        if commit:
            session.commit()
        else:
            session.rollback()
    return Report(outcome, problems, products.warnings + orders.warnings, written=commit)
