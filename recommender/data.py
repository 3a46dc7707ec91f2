"""Purchase history as the recommender sees it: a catalogue plus who bought what, when.

Two sources fill the same structure: the store database (what the training CLI and the action server
use) and the raw Online Retail invoices (what the benchmark splits by time without seeding a store).
Cancelled and returned orders are left out: a returned product is not a signal that the customer liked it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import Customer, Order, OrderLine, OrderStatus, Product

EXCLUDED_STATUSES = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass(frozen=True)
class CatalogueItem:
    sku: str
    name: str
    price: float
    stock: int


@dataclass(frozen=True)
class Purchase:
    customer_id: int
    order_key: str
    sku: str
    placed_at: datetime


@dataclass
class History:
    catalogue: list[CatalogueItem]
    purchases: list[Purchase]
    countries: dict[int, str] = field(default_factory=dict)

    def before(self, cutoff: datetime) -> History:
        """The same shop as it looked at `cutoff`: only purchases placed earlier (the catalogue is kept)."""
        return History(self.catalogue, [p for p in self.purchases if p.placed_at < cutoff], self.countries)

    def fingerprint(self) -> str:
        """A stable digest of the training data, so a manifest says exactly what a model was trained on."""
        digest = hashlib.sha256()
        for item in sorted(self.catalogue, key=lambda i: i.sku):
            digest.update(f"{item.sku}\t{item.name}\t{item.price:.2f}\n".encode())
        for p in sorted(self.purchases, key=lambda p: (p.order_key, p.sku)):
            digest.update(f"{p.customer_id}\t{p.order_key}\t{p.sku}\t{p.placed_at.isoformat()}\n".encode())
        return digest.hexdigest()[:16]


def load_history(engine: Engine) -> History:
    """Read the whole catalogue and every kept purchase line from the store database."""
    with Session(engine) as session:
        catalogue = [CatalogueItem(sku, name, float(price), int(stock)) for sku, name, price, stock in
                     session.execute(select(Product.sku, Product.name, Product.unit_price, Product.stock)
                                     .order_by(Product.sku))]
        rows = session.execute(
            select(Order.customer_id, Order.number, Product.sku, Order.placed_at)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.status.not_in(EXCLUDED_STATUSES))
        )
        purchases = [Purchase(int(cid), number, sku, placed_at) for cid, number, sku, placed_at in rows]
        countries = dict(session.execute(select(Customer.id, Customer.country)).tuples().all())
    return History(catalogue, purchases, countries)


def customer_purchases(engine: Engine, customer_id: int) -> list[tuple[str, datetime]]:
    """One customer's kept purchases (sku, when), newest first: read live so a model folds in new orders."""
    with Session(engine) as session:
        rows = session.execute(
            select(Product.sku, Order.placed_at)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.customer_id == customer_id, Order.status.not_in(EXCLUDED_STATUSES))
            .order_by(Order.placed_at.desc())
        )
        return [(sku, placed_at) for sku, placed_at in rows]


def history_from_invoices(invoices: Iterable, catalogue: dict[str, tuple[str, object]]) -> History:
    """Build a History from `store.seed.read_invoices` output (benchmark path; cancellations dropped)."""
    items = [CatalogueItem(sku, name, float(price), 1) for sku, (name, price) in sorted(catalogue.items())]
    purchases: list[Purchase] = []
    countries: dict[int, str] = {}
    for invoice in invoices:
        if invoice.number.startswith("C"):
            continue
        countries.setdefault(invoice.customer_id, invoice.country)
        purchases.extend(Purchase(invoice.customer_id, invoice.number, sku, invoice.placed_at)
                         for sku, _quantity, _price in invoice.lines)
    return History(items, purchases, countries)
