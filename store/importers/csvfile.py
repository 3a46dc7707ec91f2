"""Reading an export: rows keyed by normalised column name, each with the file line it starts on.

Exports come from spreadsheets and shop admin pages: a UTF-8 byte-order mark, quoted fields that span lines
(Shopify's "Body (HTML)"), headers in any case. Column names are compared as `column_key` writes them, so
"Lineitem quantity", "lineitem_quantity" and "Lineitem Quantity " are one column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from store.importers.records import ImportFileError

csv.field_size_limit(2**24)  # product descriptions in HTML can be long


def column_key(name: str) -> str:
    """'Shipping Address1' -> 'shipping_address1', 'Weight (kg)' -> 'weight_kg', 'Is featured?' -> 'is_featured'."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


class CsvFile:
    """One export file: its path, its normalised header and its rows."""

    def __init__(self, path: Path, delimiter: str = ",") -> None:
        if not path.is_file():
            raise ImportFileError(f"{path}: no such file")
        self.path, self.delimiter = path, delimiter
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter=delimiter), None)
        if not header:
            raise ImportFileError(f"{path}: the file is empty (no header row)")
        self.columns = [column_key(name) for name in header]

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, key: str) -> bool:
        return key in self.columns

    def require(self, keys: Iterable[str], what: str) -> None:
        """Refuse the file before any row is read when a column the format needs is missing."""
        missing = [key for key in keys if key not in self.columns]
        if missing:
            raise ImportFileError(f"{self.path}: not {what}: missing column(s) {', '.join(missing)} "
                                  f"(the file has {', '.join(self.columns) or 'none'})")

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line the row starts on, {column key: stripped value}); blank rows are skipped."""
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle, delimiter=self.delimiter)
                next(reader)
                start = reader.line_num + 1
                for values in reader:
                    if any(v.strip() for v in values):
                        yield start, {k: v.strip() for k, v in zip(self.columns, values, strict=False)}
                    start = reader.line_num + 1
        except UnicodeDecodeError as error:
            raise ImportFileError(f"{self.path}: not UTF-8 text ({error.reason}); export it as UTF-8 CSV") from error
        except csv.Error as error:
            raise ImportFileError(f"{self.path}: not a readable CSV file ({error})") from error
