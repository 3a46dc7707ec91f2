"""Checked records into the store: created, updated or left alone, keyed so a re-import changes nothing.

Keys: products by SKU, customers by email (any case), orders by number. A re-imported order takes the
file's values (the shop's system is the source of truth) but keeps what happened in the chat since:
returns and refunds are never touched, and an invoice, once issued, is not withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from store.importers.assemble import fallback_sku
from store.importers.records import LineRecord, OrderRecord, ProductRecord, ShipmentRecord
from store.models import Customer, Invoice, Order, OrderLine, OrderStatus, Product, Shipment, ShipmentStatus

CHUNK = 500  # keys per IN (...) query


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def __str__(self) -> str:
        return f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class Outcome:
    products: Tally = field(default_factory=Tally)
    customers: Tally = field(default_factory=Tally)
    orders: Tally = field(default_factory=Tally)
    products_from_lines: int = 0  # items an order names that no products file gave


def write(session: Session, products: list[ProductRecord], orders: list[OrderRecord]) -> Outcome:
    outcome = Outcome()
    catalogue = _Catalogue(session, products, orders)
    for record in products:
        created, changed = catalogue.upsert(record)
        outcome.products.count(created, changed)
    customers = _customers(session, orders, outcome)
    existing = {o.number: o for o in _chunked(session, orders, lambda numbers: select(Order).where(
        Order.number.in_(numbers)).options(selectinload(Order.lines).selectinload(OrderLine.product),
                                           selectinload(Order.shipment), selectinload(Order.invoice)),
        key=lambda r: r.number)}
    for record in orders:
        order = existing.get(record.number)
        created = order is None
        if order is None:
            order = Order(number=record.number)
            session.add(order)
        changed = _set(order, customer=customers[record.email], status=record.status, placed_at=record.placed_at,
                       shipping_address=record.shipping_address, currency=record.currency,
                       cancelled_at=record.cancelled_at)
        changed |= _set_lines(order, [(catalogue.product_for(line), line) for line in record.lines])
        changed |= _set_shipment(order, record.shipment, record.status)
        changed |= _set_invoice(order, record)
        outcome.orders.count(created, changed)
    outcome.products_from_lines = catalogue.from_lines
    session.flush()
    return outcome


class _Catalogue:
    """The products an import touches, by SKU and (for items without one) by name; new ones made on demand."""

    def __init__(self, session: Session, products: list[ProductRecord], orders: list[OrderRecord]) -> None:
        self.session, self.from_lines = session, 0
        lines = [line for order in orders for line in order.lines]
        skus = {p.sku for p in products} | {line.sku or fallback_sku(line.name) for line in lines}
        names = {line.name for line in lines if not line.sku}
        self.by_sku = {p.sku: p for p in _chunked(session, skus, lambda k: select(Product).where(Product.sku.in_(k)))}
        self.by_name: dict[str, Product] = {}
        for product in _chunked(session, names, lambda k: select(Product).where(Product.name.in_(k))):
            self.by_name.setdefault(product.name, product)
        self.batch_names = {p.name: p.sku for p in products}

    def upsert(self, record: ProductRecord) -> tuple[bool, bool]:
        product = self.by_sku.get(record.sku)
        created = product is None
        if product is None:
            product = Product(sku=record.sku, stock=0)
            self.session.add(product)
            self.by_sku[record.sku] = product
        values: dict[str, Any] = {"name": record.name, "unit_price": record.unit_price}
        if record.stock is not None:
            values["stock"] = record.stock
        changed = _set(product, **values)
        self.by_name.setdefault(record.name, product)
        return created, changed

    def product_for(self, line: LineRecord) -> Product:
        if line.sku and line.sku in self.by_sku:
            return self.by_sku[line.sku]
        if not line.sku:
            if (sku := self.batch_names.get(line.name)) and sku in self.by_sku:
                return self.by_sku[sku]
            if line.name in self.by_name:
                return self.by_name[line.name]
        sku = line.sku or fallback_sku(line.name)
        if sku in self.by_sku:
            return self.by_sku[sku]
        product = Product(sku=sku, name=line.name or line.sku, unit_price=line.unit_price, stock=0)
        self.session.add(product)
        self.by_sku[sku] = self.by_name[product.name] = product
        self.from_lines += 1
        return product


def _customers(session: Session, orders: list[OrderRecord], outcome: Outcome) -> dict[str, Customer]:
    """One customer per email: details from their newest order in the file, since from their first."""
    newest: dict[str, OrderRecord] = {}
    first_seen: dict[str, datetime] = {}
    for record in orders:
        if record.email not in newest or record.placed_at >= newest[record.email].placed_at:
            newest[record.email] = record
        first_seen[record.email] = min(first_seen.get(record.email, record.placed_at), record.placed_at)
    found = {c.email.lower(): c for c in _chunked(
        session, newest, lambda k: select(Customer).where(func.lower(Customer.email).in_(k)))}
    customers = {}
    for email, record in newest.items():
        customer = found.get(email)
        created = customer is None
        if customer is None:
            customer = Customer(email=email, created_at=first_seen[email])
            session.add(customer)
        details = {"name": record.customer_name, "country": record.customer_country,
                   "address": record.customer_address}
        # an order without them (a digital one, a guest's) doesn't erase what the store knows
        changed = _set(customer, **{k: v for k, v in details.items() if v or created})
        if customer.created_at > first_seen[email]:
            changed |= _set(customer, created_at=first_seen[email])
        outcome.customers.count(created, changed)
        customers[email] = customer
    session.flush()
    return customers


def _set_lines(order: Order, lines: list[tuple[Product, LineRecord]]) -> bool:
    wanted = [(product.sku, line.quantity, line.unit_price) for product, line in lines]
    if [(ln.product.sku, ln.quantity, ln.unit_price) for ln in order.lines] == wanted:
        return False
    order.lines = [OrderLine(product=product, quantity=line.quantity, unit_price=line.unit_price)
                   for product, line in lines]
    return True


def _set_shipment(order: Order, record: ShipmentRecord | None, status: OrderStatus) -> bool:
    if record is None:
        return False  # the export says nothing of a parcel: one the store knows stays as it is
    if record.delivered_at or status in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
        state = ShipmentStatus.DELIVERED
    elif status is OrderStatus.PROCESSING:
        state = ShipmentStatus.LABEL_CREATED
    else:
        state = ShipmentStatus.IN_TRANSIT
    created = order.shipment is None
    if order.shipment is None:
        order.shipment = Shipment()
    changed = _set(order.shipment, carrier=record.carrier, tracking_number=record.tracking_number, status=state,
                   shipped_at=record.shipped_at, delivered_at=record.delivered_at)
    return created or changed


def _set_invoice(order: Order, record: OrderRecord) -> bool:
    number = f"INV-{record.number}"
    if record.invoice_amount is None or len(number) > 32:
        return False
    if order.invoice is None:
        order.invoice = Invoice(number=number, issued_at=record.placed_at, amount=record.invoice_amount)
        return True
    return _set(order.invoice, amount=record.invoice_amount)


def _set(target: object, **values: Any) -> bool:
    """Assign only what differs; whether anything did."""
    changed = False
    for name, value in values.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed = True
    return changed


def _chunked(session: Session, keys: Iterable[Any], query: Any, key: Any = None) -> Iterator[Any]:
    items = sorted({key(k) if key else k for k in keys})
    for start in range(0, len(items), CHUNK):
        yield from session.scalars(query(items[start:start + CHUNK])).all()
