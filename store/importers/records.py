"""What a shop export says, as the importer reads it: raw rows in, checked records out.

Formats only translate their columns into `OrderRow`/`ProductRow` (strings, as in the file); one shared
path (store.importers.assemble) checks them, groups rows into orders and says what is wrong on which line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from store.models import OrderStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """A bad row: the file, its line (1 is the header) and why it can't be imported."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class AddressParts:
    """An address as exports split it; `whole` when the file has it in one column."""

    street: str = ""
    street2: str = ""
    city: str = ""
    postcode: str = ""
    region: str = ""
    country: str = ""
    whole: str = ""

    def is_empty(self) -> bool:
        return not any((self.street, self.street2, self.city, self.postcode, self.country, self.whole))


@dataclass(frozen=True)
class LineRow:
    sku: str = ""
    name: str = ""
    quantity: str = ""
    unit_price: str = ""
    line_total: str = ""  # when the file gives the line's total rather than the unit price


@dataclass
class OrderRow:
    """One CSV row of an orders export. Order-level fields may be blank on an order's later rows."""

    number: str = ""
    email: str = ""
    customer_name: str = ""
    shipping: AddressParts = field(default_factory=AddressParts)
    billing: AddressParts = field(default_factory=AddressParts)
    currency: str = ""
    placed_at: str = ""
    status: str = ""  # the export's own word, looked up in the format's status map
    cancelled_at: str = ""
    paid: bool | None = None  # None: the row does not say
    total: str = ""
    carrier: str = ""
    tracking_number: str = ""
    shipped_at: str = ""
    delivered_at: str = ""
    lines: list[LineRow] = field(default_factory=list)


@dataclass(frozen=True)
class ProductRow:
    sku: str
    name: str
    unit_price: str
    stock: str = ""


@dataclass(frozen=True)
class ProductRecord:
    line: int
    sku: str
    name: str
    unit_price: Decimal
    stock: int | None  # None: the file does not say, keep what the store has


@dataclass(frozen=True)
class LineRecord:
    line: int
    sku: str  # "" when the export has none: matched by name (store.importers.write)
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ShipmentRecord:
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class OrderRecord:
    line: int  # the order's first row
    number: str
    email: str
    customer_name: str
    customer_country: str
    customer_address: str
    shipping_address: str
    currency: str
    status: OrderStatus
    placed_at: datetime
    cancelled_at: datetime | None
    lines: tuple[LineRecord, ...]
    shipment: ShipmentRecord | None
    invoice_amount: Decimal | None  # None: no invoice (not paid, or the export can't tell)


@dataclass
class Parsed(Generic[T]):
    """What a file yielded: the good records and the bad rows."""

    records: list[T] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ImportFileError(Exception):
    """The file as a whole can't be read as this format (missing, wrong columns, bad mapping)."""
