"""Any CSV, with a mapping file (YAML or TOML) that says which column holds what.

    # mapping.yml
    delimiter: ";"            # default ","
    decimal_comma: true       # "12,50"; default false
    date_format: "%d/%m/%Y %H:%M"   # default ISO 8601
    currency: EUR             # when the file has no currency column
    orders:                   # field: the column's name in the file's header
      number: Bestellnummer
      email: E-Mail
      placed_at: Datum
      status: Status
      sku: Artikelnummer
      quantity: Menge
      unit_price: Preis       # or line_total
    statuses:                 # the file's words -> the store's
      offen: processing
      versandt: shipped
    products:
      sku: Artikelnummer
      name: Bezeichnung
      unit_price: Preis

Order fields: number, email, placed_at, status, quantity and unit_price or line_total are needed;
customer_name (or first_name and last_name), address (one column) or street, street2, city, postcode, region,
country; currency, total, paid (yes/true/1/paid), cancelled_at, carrier, tracking_number, shipped_at,
delivered_at, sku, product_name are read when mapped. Product fields: sku, name, unit_price (needed), stock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
import yaml

from store.importers import fields
from store.importers.csvfile import CsvFile, column_key
from store.importers.records import AddressParts, ImportFileError, LineRow, OrderRow, ProductRow
from store.models import OrderStatus

ORDER_FIELDS = frozenset({
    "number", "email", "placed_at", "status", "quantity", "unit_price", "line_total", "sku", "product_name",
    "customer_name", "first_name", "last_name", "address", "street", "street2", "city", "postcode", "region",
    "country", "currency", "total", "paid", "cancelled_at", "carrier", "tracking_number", "shipped_at",
    "delivered_at"})
ORDER_NEEDS = ("number", "email", "placed_at", "status", "quantity")
PRODUCT_FIELDS = frozenset({"sku", "name", "unit_price", "stock"})
PRODUCT_NEEDS = ("sku", "name", "unit_price")
SETTINGS = frozenset({"delimiter", "decimal_comma", "date_format", "currency", "orders", "products", "statuses"})


@dataclass
class GenericFormat:
    """A mapping file, checked: the columns of each field, and how to read the file's values."""

    source: Path
    orders: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)
    extra_statuses: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    decimal_comma: bool = False
    date_format: str | None = None
    currency: str | None = None
    name: str = "generic"
    statuses: Mapping[str, OrderStatus] = field(default_factory=lambda: {s.value: s for s in OrderStatus})

    def product_rows(self, file: CsvFile) -> Iterator[tuple[int, ProductRow]]:
        if not self.products:
            raise ImportFileError(f"{self.source}: has no 'products:' section for {file.path}")
        file.require(self.products.values(), f"the products file {self.source} describes")
        for line, row in file.rows():
            get = _getter(row, self.products)
            yield line, ProductRow(sku=get("sku"), name=get("name"), unit_price=get("unit_price"), stock=get("stock"))

    def order_rows(self, file: CsvFile) -> Iterator[tuple[int, OrderRow]]:
        if not self.orders:
            raise ImportFileError(f"{self.source}: has no 'orders:' section for {file.path}")
        file.require(self.orders.values(), f"the orders file {self.source} describes")
        for line, row in file.rows():
            get = _getter(row, self.orders)
            name = get("customer_name") or " ".join(p for p in (get("first_name"), get("last_name")) if p)
            paid = get("paid").lower() in fields.TRUE_WORDS if get("paid") else None
            yield line, OrderRow(
                number=get("number"), email=get("email"), customer_name=name,
                shipping=AddressParts(street=get("street"), street2=get("street2"), city=get("city"),
                                      postcode=get("postcode"), region=get("region"), country=get("country"),
                                      whole=get("address")),
                currency=get("currency"), placed_at=get("placed_at"), status=get("status"),
                cancelled_at=get("cancelled_at"), paid=paid, total=get("total"), carrier=get("carrier"),
                tracking_number=get("tracking_number"), shipped_at=get("shipped_at"),
                delivered_at=get("delivered_at"),
                lines=[LineRow(sku=get("sku"), name=get("product_name"), quantity=get("quantity"),
                               unit_price=get("unit_price"), line_total=get("line_total"))])


def load_mapping(path: Path) -> GenericFormat:
    """The mapping file, checked whole: unknown fields (a typo) and missing needed ones are errors."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such mapping file")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise ImportFileError(f"{path}: not a readable mapping file ({error})") from error
    if not isinstance(data, dict):
        raise ImportFileError(f"{path}: a mapping file is a table of settings (orders:, products:, statuses: ...)")
    if unknown := sorted(set(data) - SETTINGS):
        raise ImportFileError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(SETTINGS))})")
    orders = _columns(path, data.get("orders"), "orders", ORDER_FIELDS, ORDER_NEEDS)
    if orders and not ({"unit_price", "line_total"} & set(orders)):
        raise ImportFileError(f"{path}: orders: map unit_price or line_total")
    products = _columns(path, data.get("products"), "products", PRODUCT_FIELDS, PRODUCT_NEEDS)
    if not orders and not products:
        raise ImportFileError(f"{path}: map the columns of orders:, products: or both")
    statuses = data.get("statuses") or {}
    if not isinstance(statuses, dict):
        raise ImportFileError(f"{path}: statuses: is a table of the file's word -> the store's status")
    delimiter = str(data.get("delimiter", ","))
    if len(delimiter) != 1:
        raise ImportFileError(f"{path}: delimiter must be one character, not {delimiter!r}")
    return GenericFormat(source=path, orders=orders, products=products,
                         extra_statuses={str(k): str(v) for k, v in statuses.items()}, delimiter=delimiter,
                         decimal_comma=bool(data.get("decimal_comma", False)),
                         date_format=str(data["date_format"]) if data.get("date_format") else None,
                         currency=str(data["currency"]) if data.get("currency") else None)


def _columns(path: Path, section: Any, title: str, known: frozenset[str], needs: tuple[str, ...]) -> dict[str, str]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ImportFileError(f"{path}: {title}: is a table of field -> column name")
    if unknown := sorted(set(section) - known):
        raise ImportFileError(f"{path}: {title}: unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")
    if missing := [f for f in needs if not section.get(f)]:
        raise ImportFileError(f"{path}: {title}: map the column(s) of {', '.join(missing)}")
    return {f: column_key(str(column)) for f, column in section.items() if column}


def _getter(row: dict[str, str], columns: dict[str, str]) -> Callable[[str], str]:
    """The row's value of a mapped field ("" for a field the mapping leaves out)."""
    return lambda field_name: row.get(columns[field_name], "") if field_name in columns else ""
