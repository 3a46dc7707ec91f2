"""Rows in, checked records out: the one path every format's rows take.

An order is all rows with its number (Shopify and the one-row-per-item exports repeat or blank the order's
fields on its later rows: the first value given counts). A problem on any of its rows rejects the whole order,
so an order is imported complete or not at all; every problem names its line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from shop_profile import current_profile
from store.importers import fields
from store.importers.fields import FieldError
from store.importers.records import (
    AddressParts,
    LineRecord,
    OrderRecord,
    OrderRow,
    Parsed,
    Problem,
    ProductRecord,
    ProductRow,
    ShipmentRecord,
)
from store.importers.statuses import status_key, unknown_status
from store.models import OrderStatus
from store.service import normalize_order_number

MAX_NUMBER, MAX_SKU, MAX_NAME, MAX_PRODUCT_NAME, MAX_CARRIER, MAX_TRACKING = 32, 64, 120, 200, 40, 64
V = TypeVar("V")


@dataclass(frozen=True)
class ReadOptions:
    """How to read values the file leaves open: statuses, a default currency, the date form, decimal commas."""

    statuses: dict[str, OrderStatus]
    currency: str | None = None
    date_format: str | None = None
    decimal_comma: bool = False
    status_hint: str = "--status {word}=STATUS"  # how the shop maps a status word ({word}: the word)


def order_number(text: str) -> str:
    """'#1001' -> '1001', as the order desk compares them (upper case; shop.yml `order_numbers.prefixes` cut)."""
    number = text.strip()
    for prefix in sorted(current_profile().order_numbers.prefixes, key=len, reverse=True):
        if number.startswith(prefix):
            number = number[len(prefix):].strip()
            break
    return number.upper()


def fallback_sku(name: str) -> str:
    """A product code for an item the export gives no SKU for, from its name ('Linen Apron - Blue')."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").upper()[:MAX_SKU]


def products(file: str, rows: Iterable[tuple[int, ProductRow]], options: ReadOptions) -> Parsed[ProductRecord]:
    parsed: Parsed[ProductRecord] = Parsed()
    seen: dict[str, int] = {}
    for line, row in rows:
        sku = row.sku or fallback_sku(row.name)
        try:
            if not row.name:
                raise FieldError("no product name")
            if not sku:
                raise FieldError("no SKU, and no name to make one from")
            _fits(sku, MAX_SKU, "SKU")
            _fits(row.name, MAX_PRODUCT_NAME, "product name")
            if sku in seen:
                raise FieldError(f"SKU {sku} is already on line {seen[sku]}")
            price = fields.money(row.unit_price, "price", options.decimal_comma)
            stock = _integer(row.stock, "stock") if row.stock else None
        except FieldError as error:
            parsed.problems.append(Problem(file, line, f"product {sku or '(no SKU)'}: {error}"))
            continue
        seen[sku] = line
        parsed.records.append(ProductRecord(line, sku, row.name, price, stock))
    return parsed


def orders(file: str, rows: Iterable[tuple[int, OrderRow]], options: ReadOptions) -> Parsed[OrderRecord]:
    parsed: Parsed[OrderRecord] = Parsed()
    groups: dict[str, list[tuple[int, OrderRow]]] = {}
    for line, row in rows:
        number = order_number(row.number)
        if number:
            groups.setdefault(number, []).append((line, row))
        else:
            parsed.problems.append(Problem(file, line, "no order number"))
    unreachable, unquotable, undated = [], [], []
    shop = current_profile().order_numbers
    for number, group in groups.items():
        order = _Order(file, number, group, options)
        record = order.record()
        if order.problems:
            parsed.problems += order.problems
            continue
        assert record is not None
        parsed.records.append(record)
        if normalize_order_number(number) != number:
            unreachable.append(number)
        elif shop.find(number) != [number]:
            unquotable.append(number)
        if record.status is OrderStatus.DELIVERED and (record.shipment is None or not record.shipment.delivered_at):
            undated.append(number)
    if unreachable:
        parsed.warnings.append(f"{len(unreachable)} order number(s) the order desk can't look up from the chat "
                               f"(they don't match shop.yml order_numbers.pattern {shop.pattern!r}, see "
                               f"docs/adopting.md): listed to their customer, but not trackable by number: "
                               f"{_some(unreachable)}")
    if unquotable:
        parsed.warnings.append(f"{len(unquotable)} order number(s) the chat won't pick out of a customer's "
                               f"message (shop.yml order_numbers.in_text {shop.in_text!r}), only as the answer "
                               f"to 'what's the order number?': {_some(unquotable)}")
    if undated:
        parsed.warnings.append(f"{len(undated)} delivered order(s) without a delivery date, so returns for them are "
                               f"refused as outside the return window: {_some(undated)}")
    return parsed


@dataclass
class _Order:
    """One order's rows being checked: the first value each field is given, problems by line."""

    file: str
    number: str
    rows: list[tuple[int, OrderRow]]
    options: ReadOptions
    problems: list[Problem] = field(default_factory=list)

    def first(self, get: Callable[[OrderRow], V], empty: Callable[[V], bool] = lambda v: not v) -> tuple[int, V]:
        for line, row in self.rows:
            value = get(row)
            if not empty(value):
                return line, value
        return self.rows[0][0], get(self.rows[0][1])

    def check(self, get: Callable[[OrderRow], str], convert: Callable[[str], V]) -> V | None:
        line, raw = self.first(get)
        try:
            return convert(raw)
        except FieldError as error:
            self.problems.append(Problem(self.file, line, f"order {self.number}: {error}"))
            return None

    def record(self) -> OrderRecord | None:
        o = self.options
        email = self.check(lambda r: r.email, fields.email)
        placed_at = self.check(lambda r: r.placed_at, lambda v: fields.moment(v, "order date", o.date_format))
        cancelled_at = self.check(lambda r: r.cancelled_at,
                                  lambda v: fields.optional_moment(v, "cancellation date", o.date_format))
        currency = self.check(lambda r: r.currency, lambda v: fields.currency(v or o.currency or ""))
        status = self.check(lambda r: r.status, self._status)
        name = self.check(lambda r: r.customer_name, lambda v: _fits(v, MAX_NAME, "customer name"))
        total = self.check(lambda r: r.total, lambda v: fields.money(v, "total", o.decimal_comma) if v else None)
        shipment = self._shipment()
        lines = self._lines()
        if len(self.number) > MAX_NUMBER:
            self.problems.append(Problem(self.file, self.rows[0][0],
                                         f"order {self.number[:40]}: the number is longer than {MAX_NUMBER}"))
        if self.problems:
            return None
        assert email and placed_at and currency and status and name is not None
        shipping = self._address(lambda r: r.shipping)
        billing = self._address(lambda r: r.billing)
        home, delivery = billing or shipping or ("", ""), shipping or billing or ("", "")  # none: a digital order
        _, paid = self.first(lambda r: r.paid, lambda v: v is None)
        amount = None
        if paid and status is not OrderStatus.CANCELLED:
            amount = total if total is not None else sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0"))
        return OrderRecord(
            line=self.rows[0][0], number=self.number, email=email, customer_name=name,
            customer_country=home[1], customer_address=home[0], shipping_address=delivery[0],
            currency=currency, status=status, placed_at=placed_at,
            cancelled_at=cancelled_at,
            lines=tuple(lines), shipment=shipment, invoice_amount=amount)

    def _status(self, raw: str) -> OrderStatus:
        if not raw:
            raise FieldError("no order status")
        try:
            return self.options.statuses[status_key(raw)]
        except KeyError:
            raise FieldError(unknown_status(raw, self.options.status_hint)) from None

    def _address(self, get: Callable[[OrderRow], AddressParts]) -> tuple[str, str] | None:
        """(one-line address, the store's country name) of the first non-empty address, or None."""
        _, parts = self.first(get, lambda a: a.is_empty())
        if parts.is_empty():
            return None
        country = fields.country(parts.country)
        if parts.whole:
            return parts.whole, country or (fields.country(parts.whole.rsplit(",", 1)[-1]) if "," in parts.whole
                                            else "")
        return fields.address(parts.street, parts.street2, parts.city, parts.postcode, parts.region, country), country

    def _shipment(self) -> ShipmentRecord | None:
        d = self.options.date_format
        carrier = self.check(lambda r: r.carrier, lambda v: _fits(v, MAX_CARRIER, "carrier"))
        tracking = self.check(lambda r: r.tracking_number, lambda v: _fits(v, MAX_TRACKING, "tracking number"))
        shipped = self.check(lambda r: r.shipped_at, lambda v: fields.optional_moment(v, "shipping date", d))
        delivered = self.check(lambda r: r.delivered_at, lambda v: fields.optional_moment(v, "delivery date", d))
        if not any((carrier, tracking, shipped, delivered)):
            return None
        return ShipmentRecord(carrier or None, tracking or None, shipped, delivered)

    def _lines(self) -> list[LineRecord]:
        lines = []
        for line, row in self.rows:
            for item in row.lines:
                label = item.sku or item.name or "(unnamed)"
                try:
                    if not item.sku and not item.name:
                        raise FieldError("a line item with neither SKU nor name")
                    _fits(item.sku, MAX_SKU, "SKU")
                    _fits(item.name, MAX_PRODUCT_NAME, "item name")
                    quantity = fields.count(item.quantity, "quantity")
                    if item.unit_price:
                        price = fields.money(item.unit_price, "price", self.options.decimal_comma)
                    elif item.line_total:
                        total = fields.money(item.line_total, "line total", self.options.decimal_comma)
                        price = (total / quantity).quantize(Decimal("0.01"))
                    else:
                        raise FieldError("no price")
                except FieldError as error:
                    self.problems.append(Problem(self.file, line, f"order {self.number}, item {label}: {error}"))
                    continue
                lines.append(LineRecord(line, item.sku, item.name, quantity, price))
        if not lines and not self.problems:
            self.problems.append(Problem(self.file, self.rows[0][0], f"order {self.number}: no line items"))
        return lines


def _fits(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise FieldError(f"{what} is longer than {limit} characters")
    return value


def _integer(text: str, what: str) -> int:
    try:
        return int(Decimal(text.replace(",", "")))
    except ArithmeticError:
        raise FieldError(f"{what} {text!r} is not a number") from None


def _some(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")
