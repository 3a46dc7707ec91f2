"""Fresh customers and orders in named states, written straight into the store, one set per conversation.

Each conversation of the suite gets its own customer (unique email) with orders in the states its YAML
names, plus an order of another customer (for "never show someone else's data" checks). Order numbers are
6 digits from 700000 up, above every Online Retail invoice number the demo store is seeded with, and
never reused, so conversations can run against the shared demo store in any order without colliding.
What a fixture created comes back as placeholder values ({order}, {email}, {total}, {tracking}...) that
the conversation's texts and expectations use.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.db import make_engine
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

FIRST_NUMBER = 700000  # the Online Retail sample's invoices are 536365..581587 (and C-prefixed cancellations)
LAST_NUMBER = 999999
FIRST_NAMES = ["Olivia", "Jack", "Amelia", "Harry", "Isla", "Oscar", "Ava", "Charlie", "Mia", "George", "Sophie",
               "Noah", "Grace", "Leo", "Freya", "Arthur", "Lily", "Alfie", "Ella", "Theo", "Priya", "Tomasz",
               "Aisha", "Callum", "Niamh", "Kwame", "Mei", "Rhys", "Zara", "Finn"]
LAST_NAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Thomas", "Roberts",
              "Walker", "Wright", "Patel", "Khan", "Murphy", "Hughes", "Edwards", "Green", "Hall", "Wood",
              "Nowak", "Okafor", "Chen", "MacLeod", "Byrne"]
STREETS = ["Park Road", "Church Lane", "Victoria Street", "Mill Lane", "Station Road", "Queens Avenue",
           "Highfield Close", "Manor Way", "Kings Crescent", "Elm Grove"]
TOWNS = [("Leeds", "LS6 2AB"), ("Manchester", "M14 5RT"), ("Bristol", "BS7 8PL"), ("York", "YO10 3DD"),
         ("Sheffield", "S10 2GH"), ("Norwich", "NR2 4PQ"), ("Cardiff", "CF24 4HQ"), ("Glasgow", "G12 8QQ")]
OTHER_TOWNS = [("Aberdeen", "AB10 1XG"), ("Exeter", "EX4 6PX"), ("Durham", "DH1 3LE")]  # never a customer's

STATES = ("processing", "processing_stale", "shipped", "late", "delivered", "delivered_old", "return_requested",
          "return_open_refund_processing", "refund_completed", "cancelled")

_numbers_lock = threading.Lock()


@dataclass(frozen=True)
class FixtureSpec:
    """What a conversation's `fixture:` asks for: order states in order ({order}, {order2}, ...)."""

    orders: tuple[str, ...] = ()
    signed_in: bool = False

    @classmethod
    def parse(cls, raw: object) -> FixtureSpec:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ValueError(f"fixture must be a mapping, got {raw!r}")
        unknown = set(raw) - {"orders", "signed_in"}
        if unknown:
            raise ValueError(f"unknown fixture keys {sorted(unknown)}")
        orders = tuple(raw.get("orders") or ())
        bad = [state for state in orders if state not in STATES]
        if bad:
            raise ValueError(f"unknown order states {bad}; known: {', '.join(STATES)}")
        return cls(orders=orders, signed_in=bool(raw.get("signed_in", False)))


@dataclass
class Fixture:
    """What was created: the customer, the placeholder values, and the order numbers by placeholder."""

    customer_id: int
    values: dict[str, str]
    orders: dict[str, str] = field(default_factory=dict)  # placeholder name ("order", "order2") -> number
    others_customer_id: int = 0

    @property
    def numbers(self) -> list[str]:
        return list(self.orders.values())


def placeholder_names(spec: FixtureSpec) -> set[str]:
    """Every placeholder a fixture of this spec defines (the loader checks texts against it, no database)."""
    names = {"name", "first_name", "last_name", "email", "address", "postcode", "city", "others_order",
             "others_email", "others_name", "others_tracking", "others_postcode", "customer_id"}
    for i in range(1, len(spec.orders) + 1):
        suffix = "" if i == 1 else str(i)
        names |= {f"{key}{suffix}" for key in ORDER_KEYS}
    return names


ORDER_KEYS = ("order", "total", "total_plain", "invoice", "tracking", "carrier", "item", "items", "state",
              "refund_amount")


def money(amount: Decimal) -> str:
    """As the bot writes money (actions/formatting.py)."""
    return f"£{amount:,.2f}"


def _next_numbers(s: Session, count: int) -> list[str]:
    highest = s.scalar(select(func.max(Order.number)).where(
        Order.number >= str(FIRST_NUMBER), Order.number <= str(LAST_NUMBER), func.length(Order.number) == 6))
    start = int(highest) + 1 if highest and re.fullmatch(r"\d{6}", highest) else FIRST_NUMBER
    if start + count - 1 > LAST_NUMBER:
        raise RuntimeError("the conversation fixtures ran out of 6-digit order numbers in this store")
    return [str(start + i) for i in range(count)]


def _products(s: Session) -> list[Product]:
    products = list(s.scalars(select(Product).where(Product.stock > 0, Product.unit_price < 20)
                              .order_by(Product.id).limit(200)))
    if not products:
        raise RuntimeError("the store has no products: seed it first (store.seed)")
    return products


def _customer(rng: random.Random, unique: str, now: datetime, domain: str = "example.com",
              towns: list[tuple[str, str]] = TOWNS) -> Customer:
    """A UK customer; `unique` (a number no other fixture uses) makes the email unique, the way real
    addresses carry digits (a random hex tag reads as gibberish to the bot's language check)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    town, postcode = rng.choice(towns)
    address = f"{rng.randint(2, 180)} {rng.choice(STREETS)}, {town} {postcode}, United Kingdom"
    return Customer(email=f"{first.lower()}.{last.lower()}{unique}@{domain}", name=f"{first} {last}",
                    country="United Kingdom", address=address, created_at=now - timedelta(days=400))


def _shipment(rng: random.Random, shipped_at: datetime, estimated: datetime,
              delivered_at: datetime | None) -> Shipment:
    shipment = Shipment(carrier="Royal Mail", tracking_number=f"RM{rng.randrange(10**9, 10**10)}GB",
                        shipped_at=shipped_at, estimated_delivery=estimated,
                        status=ShipmentStatus.DELIVERED if delivered_at else ShipmentStatus.IN_TRANSIT,
                        delivered_at=delivered_at)
    events = [ShipmentEvent(status=ShipmentStatus.LABEL_CREATED, occurred_at=shipped_at - timedelta(hours=4),
                            location="ShopDesk warehouse, Leeds"),
              ShipmentEvent(status=ShipmentStatus.IN_TRANSIT, occurred_at=shipped_at,
                            location="Royal Mail sorting centre")]
    if delivered_at:
        events += [ShipmentEvent(status=ShipmentStatus.OUT_FOR_DELIVERY, occurred_at=delivered_at - timedelta(hours=5),
                                 location="local delivery office"),
                   ShipmentEvent(status=ShipmentStatus.DELIVERED, occurred_at=delivered_at, location="United Kingdom")]
    shipment.events = events
    return shipment


def _delivered(order: Order, rng: random.Random, now: datetime, days_ago: int) -> None:
    delivered_at = now - timedelta(days=days_ago, hours=3)
    shipped_at = delivered_at - timedelta(days=2)
    order.placed_at = shipped_at - timedelta(hours=20)
    order.status = OrderStatus.DELIVERED
    order.shipment = _shipment(rng, shipped_at, delivered_at, delivered_at)


def _with_return(order: Order, now: datetime, status: ReturnStatus, refund: RefundStatus, opened_days_ago: int,
                 updated_days_ago: int) -> None:
    opened, updated = now - timedelta(days=opened_days_ago), now - timedelta(days=updated_days_ago)
    request = ReturnRequest(status=status, reason="too small", created_at=opened, updated_at=updated)
    request.refund = Refund(order=order, amount=order.total, status=refund, created_at=opened, updated_at=updated)
    order.returns.append(request)


def _build_state(order: Order, state: str, rng: random.Random, now: datetime) -> None:
    """Give `order` (lines already added) the dates, shipment, return and refund of `state`."""
    builders: dict[str, Callable[[], None]] = {
        "processing": lambda: setattr(order, "placed_at", now - timedelta(hours=2)),
        "processing_stale": lambda: setattr(order, "placed_at", now - timedelta(days=4)),
    }
    order.status = OrderStatus.PROCESSING
    if state in builders:
        builders[state]()
    elif state == "shipped":
        order.placed_at, order.status = now - timedelta(days=1, hours=6), OrderStatus.SHIPPED
        order.shipment = _shipment(rng, now - timedelta(hours=20), now + timedelta(days=2), None)
    elif state == "late":
        order.placed_at, order.status = now - timedelta(days=8), OrderStatus.SHIPPED
        order.shipment = _shipment(rng, now - timedelta(days=7), now - timedelta(days=3), None)
    elif state == "delivered":
        _delivered(order, rng, now, 5)
    elif state == "delivered_old":
        _delivered(order, rng, now, 60)
    elif state == "return_requested":
        _delivered(order, rng, now, 6)
        _with_return(order, now, ReturnStatus.REQUESTED, RefundStatus.PENDING, 2, 2)
    elif state == "return_open_refund_processing":
        _delivered(order, rng, now, 12)
        _with_return(order, now, ReturnStatus.RECEIVED, RefundStatus.PROCESSING, 9, 2)
    elif state == "refund_completed":
        _delivered(order, rng, now, 25)
        _with_return(order, now, ReturnStatus.COMPLETED, RefundStatus.COMPLETED, 20, 10)
        order.status = OrderStatus.RETURNED
    elif state == "cancelled":
        order.placed_at, order.status = now - timedelta(days=3), OrderStatus.CANCELLED
        order.cancelled_at = order.placed_at + timedelta(hours=2)
        order.refunds.append(Refund(amount=order.total, status=RefundStatus.COMPLETED,
                                    created_at=order.cancelled_at, updated_at=order.cancelled_at + timedelta(days=2)))
    else:
        raise ValueError(f"unknown order state {state!r}")


def _order(number: str, customer: Customer, state: str, products: list[Product], rng: random.Random,
           now: datetime) -> Order:
    order = Order(number=number, customer=customer, placed_at=now, currency="GBP",
                  shipping_address=customer.address, status=OrderStatus.PROCESSING)
    for product in rng.sample(products, rng.randint(1, 3)):
        order.lines.append(OrderLine(product=product, quantity=rng.randint(1, 4), unit_price=product.unit_price))
    _build_state(order, state, rng, now)
    order.invoice = Invoice(number=f"INV-{number}", issued_at=order.placed_at, amount=order.total)
    return order


def _order_values(order: Order, state: str, suffix: str) -> dict[str, str]:
    refund = next((r.amount for r in order.refunds), order.total)
    values = {"order": order.number, "total": money(order.total), "total_plain": f"{order.total:.2f}",
              "invoice": f"INV-{order.number}", "tracking": order.shipment.tracking_number if order.shipment else "",
              "carrier": order.shipment.carrier if order.shipment else "", "item": order.lines[0].product.name,
              "items": str(sum(line.quantity for line in order.lines)), "state": state,
              "refund_amount": money(refund)}
    return {f"{key}{suffix}": value for key, value in values.items()}


def create_fixture(database_url: str, spec: FixtureSpec, tag: str, seed: int | None = None) -> Fixture:
    """Write the customer, their orders and another customer's order; `tag` seeds the invented details."""
    rng = random.Random(seed if seed is not None else tag)
    now = datetime.now().replace(microsecond=0)
    engine = make_engine(database_url)
    try:
        with _numbers_lock, Session(engine) as s, s.begin():
            products = _products(s)
            numbers = _next_numbers(s, len(spec.orders) + 1)
            customer = _customer(rng, numbers[-1], now)
            other = _customer(rng, numbers[-1], now, "example.net", OTHER_TOWNS)
            while set(other.name.split()) & set(customer.name.split()):  # nothing of theirs may match ours
                other = _customer(rng, numbers[-1], now, "example.net", OTHER_TOWNS)
            s.add_all([customer, other])
            orders = [_order(n, customer, state, products, rng, now)
                      for n, state in zip(numbers[:-1], spec.orders, strict=True)]
            others_order = _order(numbers[-1], other, "shipped", products, rng, now)
            s.add_all([*orders, others_order])
            s.flush()
            first, last = customer.name.split(" ", 1)
            town_postcode = customer.address.split(", ")[1]
            values = {"name": customer.name, "first_name": first, "last_name": last, "email": customer.email,
                      "address": customer.address, "city": town_postcode.rsplit(" ", 2)[0],
                      "postcode": " ".join(town_postcode.rsplit(" ", 2)[1:]), "customer_id": str(customer.id),
                      "others_order": others_order.number, "others_email": other.email, "others_name": other.name,
                      "others_tracking": others_order.shipment.tracking_number if others_order.shipment else "",
                      "others_postcode": " ".join(other.address.split(", ")[1].rsplit(" ", 2)[1:])}
            placeholders = {}
            for i, (order, state) in enumerate(zip(orders, spec.orders, strict=True), start=1):
                suffix = "" if i == 1 else str(i)
                values.update(_order_values(order, state, suffix))
                placeholders[f"order{suffix}"] = order.number
            return Fixture(customer_id=customer.id, values=values, orders=placeholders,
                           others_customer_id=other.id)
    finally:
        engine.dispose()
