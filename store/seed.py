"""Build the demo store from the UCI Online Retail sample: real customers, products and purchase histories.

Invoices become orders, shifted in time so the newest one is today; an order's age decides its status
the way a real shop's would be spread: the last two days are still processing, the last week is on its
way, older orders were delivered, some of those returned, and `C…` invoices are cancellations.
Names, emails and addresses are invented (the data set has none), deterministically from `--seed`.

    python -m store.seed --data ../shared/data/online_retail/online_retail_sample.csv --seed 7
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from faker import Faker
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from shop_profile import current_profile
from store.db import PROJECT_ROOT, make_engine
from store.migrate import upgrade_database
from store.models import (
    Customer,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "online_retail" / "online_retail_sample.csv"
PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")
PROCESSING_DAYS = 2
IN_TRANSIT_DAYS = 7
RETURN_SHARE = 0.06
LOCALES = {"United Kingdom": "en_GB", "Germany": "de_DE", "France": "fr_FR", "EIRE": "en_IE",
           "Spain": "es_ES", "Netherlands": "nl_NL", "Belgium": "nl_BE", "Switzerland": "de_CH",
           "Portugal": "pt_PT", "Australia": "en_AU", "Norway": "no_NO", "Italy": "it_IT"}
REASONS = ["arrived damaged", "not as described", "changed my mind", "wrong size", "arrived too late"]

DATA_CURRENCY = "GBP"  # the Online Retail data set's prices are in sterling, whatever shop.yml says


@dataclass
class _Invoice:
    number: str
    customer_id: int
    placed_at: datetime
    country: str
    lines: list[tuple[str, int, Decimal]] = field(default_factory=list)


class SeedError(Exception):
    pass


def read_invoices(path: Path) -> tuple[dict[str, _Invoice], dict[str, tuple[str, Decimal]]]:
    """Parse the CSV into invoices and a catalogue (sku -> name, median price), skipping noise rows."""
    if not path.is_file():
        raise SeedError(f"Online Retail data not found at {path}")
    invoices: dict[str, _Invoice] = {}
    names: dict[str, str] = {}
    prices: dict[str, list[float]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                    "CustomerID", "Country"}
        if not expected <= set(reader.fieldnames or []):
            raise SeedError(f"{path} is not an Online Retail file (columns {reader.fieldnames})")
        for row in reader:
            sku, description = row["StockCode"].strip().upper(), row["Description"].strip()
            try:
                quantity, price = int(row["Quantity"]), float(row["UnitPrice"])
                placed_at = datetime.fromisoformat(row["InvoiceDate"])
            except ValueError:
                continue
            if not row["CustomerID"] or not PRODUCT_CODE.match(sku) or not description or price <= 0:
                continue
            number = row["InvoiceNo"].strip()
            if quantity == 0 or (quantity < 0) != number.startswith("C"):
                continue
            names.setdefault(sku, description)
            prices[sku].append(price)
            invoice = invoices.setdefault(number, _Invoice(number, int(float(row["CustomerID"])), placed_at,
                                                             row["Country"].strip() or "United Kingdom"))
            invoice.lines.append((sku, abs(quantity), Decimal(str(price)).quantize(Decimal("0.01"))))
    catalogue = {sku: (_tidy_name(names[sku]), Decimal(str(statistics.median(p))).quantize(Decimal("0.01")))
                 for sku, p in prices.items()}
    return invoices, catalogue


def _tidy_name(description: str) -> str:
    """'WHITE HANGING HEART T-LIGHT HOLDER' -> 'White Hanging Heart T-Light Holder' (and 50's stays 50's)."""
    return re.sub(r"(?<![\w'])([a-z])", lambda m: m.group(1).upper(), " ".join(description.lower().split()))


def migrate_and_seed(url: str, data: Path = DEFAULT_DATA, rng_seed: int = 7) -> None:
    """A fresh store at `url`: migrated and seeded (what tests and benchmarks start from)."""
    engine = make_engine(url)
    try:
        upgrade_database(engine)
        seed(engine, data, rng_seed=rng_seed)
    finally:
        engine.dispose()


def seed(engine: Engine, data: Path, rng_seed: int = 7, anchor: date | None = None,
         return_share: float = RETURN_SHARE) -> dict[str, int]:
    """Fill an empty store database; returns counts of what was created."""
    invoices, catalogue = read_invoices(data)
    if not invoices:
        raise SeedError(f"{data} has no usable purchase lines")
    rng = random.Random(rng_seed)
    fakers: dict[str, Faker] = {}
    # The newest order moves to an hour before "now"; ages, and so statuses, don't depend on the date.
    now = datetime.combine(anchor, time(12)) if anchor else datetime.now().replace(second=0, microsecond=0)
    shift = now - timedelta(hours=1) - max(i.placed_at for i in invoices.values())

    with Session(engine) as s, s.begin():
        if s.scalar(select(func.count()).select_from(Order)):
            raise SeedError("the store database already has orders; use --reset to rebuild it")
        products = {}
        for sku, (name, price) in sorted(catalogue.items()):
            products[sku] = Product(sku=sku, name=name, unit_price=price,
                                    stock=0 if rng.random() < 0.05 else rng.randint(3, 250))
        s.add_all(products.values())

        customers: dict[int, Customer] = {}
        used_emails: set[str] = set()
        for invoice in sorted(invoices.values(), key=lambda i: (i.placed_at, i.number)):
            if invoice.customer_id not in customers:
                customers[invoice.customer_id] = _make_customer(invoice, fakers, rng_seed, shift, used_emails)
        s.add_all(customers.values())

        counts: dict[str, int] = defaultdict(int)
        for invoice in tqdm(sorted(invoices.values(), key=lambda i: i.number), desc="orders", unit="order",
                            disable=not sys.stderr.isatty()):
            order = _make_order(invoice, customers[invoice.customer_id], products, shift, now, rng, return_share)
            s.add(order)
            counts[order.status.value] += 1
        counts.update(customers=len(customers), products=len(products), orders=len(invoices))
        return dict(counts)


def _make_customer(invoice: _Invoice, fakers: dict[str, Faker], rng_seed: int, shift: timedelta,
                   used_emails: set[str]) -> Customer:
    locale = LOCALES.get(invoice.country, "en_GB")
    if locale not in fakers:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(rng_seed)
    fake = fakers[locale]
    first, last = fake.first_name(), fake.last_name()
    local = ".".join(re.sub(r"[^a-z]", "", _ascii(part).lower()) or "customer" for part in (first, last))
    email = f"{local}@example.com"
    n = 2
    while email in used_emails:
        email, n = f"{local}{n}@example.com", n + 1
    used_emails.add(email)
    return Customer(id=invoice.customer_id, email=email, name=f"{first} {last}", country=invoice.country,
                    address=" ".join(fake.address().split()) + f", {invoice.country}",
                    created_at=invoice.placed_at + shift - timedelta(days=30))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _make_order(invoice: _Invoice, customer: Customer, products: dict[str, Product], shift: timedelta,
                now: datetime, rng: random.Random, return_share: float) -> Order:
    placed_at = invoice.placed_at + shift
    age_days = (now - placed_at).days
    order = Order(number=invoice.number, customer=customer, placed_at=placed_at, currency=DATA_CURRENCY,
                  shipping_address=customer.address, status=OrderStatus.PROCESSING)
    order.lines = [OrderLine(product=products[sku], quantity=q, unit_price=p) for sku, q, p in invoice.lines]
    if invoice.number.startswith("C"):
        order.status, order.cancelled_at = OrderStatus.CANCELLED, placed_at + timedelta(hours=2)
        return order
    order.invoice = Invoice(number=f"INV-{invoice.number}", issued_at=placed_at, amount=order.total)
    if age_days < PROCESSING_DAYS:
        return order
    order.shipment = _make_shipment(invoice, placed_at, age_days, rng)
    if age_days < IN_TRANSIT_DAYS:
        order.status = OrderStatus.SHIPPED
        return order
    order.status = OrderStatus.DELIVERED
    if rng.random() < return_share:
        _add_return(order, now, rng)
    return order


def _make_shipment(invoice: _Invoice, placed_at: datetime, age_days: int, rng: random.Random) -> Shipment:
    # As the data set has it: the warehouse's own country ships domestic, everywhere else as the first
    # region abroad (the shop profile's regions name the carriers and their transit days).
    profile = current_profile()
    home = invoice.country == profile.warehouse.country
    region = profile.home_region if home else (profile.abroad_region or profile.home_region)
    carrier = region.carrier
    shipped_at = placed_at + timedelta(days=1, hours=rng.randint(1, 8))
    transit = timedelta(days=region.transit_days)
    shipment = Shipment(carrier=carrier, tracking_number=f"{carrier[:2].upper()}{rng.randrange(10**9, 10**10)}GB",
                        shipped_at=shipped_at, estimated_delivery=shipped_at + transit,
                        status=ShipmentStatus.IN_TRANSIT)
    events = [ShipmentEvent(status=ShipmentStatus.LABEL_CREATED, occurred_at=placed_at + timedelta(hours=20),
                            location=f"{profile.warehouse.name}, {profile.warehouse.city}"),
              ShipmentEvent(status=ShipmentStatus.IN_TRANSIT, occurred_at=shipped_at,
                            location=f"{carrier} sorting centre")]
    if age_days >= IN_TRANSIT_DAYS:
        delivered_at = shipped_at + transit + timedelta(hours=rng.randint(-12, 30))
        city = invoice.country
        events += [ShipmentEvent(status=ShipmentStatus.OUT_FOR_DELIVERY, occurred_at=delivered_at - timedelta(hours=5),
                                 location=city),
                   ShipmentEvent(status=ShipmentStatus.DELIVERED, occurred_at=delivered_at, location=city)]
        shipment.status, shipment.delivered_at = ShipmentStatus.DELIVERED, delivered_at
    shipment.events = events
    return shipment


def _add_return(order: Order, now: datetime, rng: random.Random) -> None:
    assert order.shipment is not None and order.shipment.delivered_at is not None
    opened = order.shipment.delivered_at + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 12))
    if opened >= now:
        return
    age = (now - opened).days
    status, refund_status = ((ReturnStatus.COMPLETED, RefundStatus.COMPLETED) if age > 10 else
                             (ReturnStatus.RECEIVED, RefundStatus.PROCESSING) if age > 4 else
                             (ReturnStatus.REQUESTED, RefundStatus.PENDING))
    updated = opened + timedelta(days=min(age, 8))
    request = ReturnRequest(status=status, reason=rng.choice(REASONS), created_at=opened, updated_at=updated)
    request.refund = Refund(order=order, amount=order.total, status=refund_status, created_at=opened,
                            updated_at=updated)
    order.returns.append(request)
    if status is ReturnStatus.COMPLETED:
        order.status = OrderStatus.RETURNED


def reset(engine: Engine) -> None:
    """Drop every table (including other modules' and Alembic's), so migrations rebuild from scratch."""
    from sqlalchemy import MetaData

    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Online Retail CSV (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for invented details (default: 7)")
    parser.add_argument("--anchor-date", type=date.fromisoformat, default=None,
                        help="date the newest order moves to (default: today)")
    parser.add_argument("--database-url", default=None, help="default: $SHOPDESK_DATABASE_URL or var/shop.db")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--reset", action="store_true", help="drop and rebuild an existing store")
    mode.add_argument("--if-empty", action="store_true", help="do nothing when the store already has orders")
    args = parser.parse_args(list(argv) if argv is not None else None)

    engine = make_engine(args.database_url)
    if args.reset:
        reset(engine)
    upgrade_database(engine)
    if args.if_empty:
        with Session(engine) as s:
            if s.scalar(select(func.count()).select_from(Order)):
                print("store already seeded; nothing to do")
                return 0
    try:
        counts = seed(engine, args.data, args.seed, args.anchor_date)
    except SeedError as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 1
    print("seeded store: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
