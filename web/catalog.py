"""Read-only queries the demo storefront needs: product pages, best sellers and demo shoppers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_profile import current_profile
from shop_profile.wording import money
from store.attachments import OPEN_RETURN_STATUSES
from store.models import Customer, Order, OrderLine, OrderStatus, Product, ReturnRequest

PAGE_SIZE = 24
MAX_QUERY_LENGTH = 80


@dataclass(frozen=True)
class ProductCard:
    sku: str
    name: str
    price: Decimal
    in_stock: bool

    @property
    def price_label(self) -> str:
        return format_price(self.price)


@dataclass(frozen=True)
class ProductPage:
    products: list[ProductCard]
    page: int
    pages: int
    total: int
    query: str


@dataclass(frozen=True)
class DemoShopper:
    """A seeded customer offered on the fake sign-in page, with the situation they demonstrate."""

    id: int
    name: str
    email: str
    country: str
    situation: str
    order_number: str


def format_price(amount: Decimal) -> str:
    """A catalogue price in the shop's currency (shop.yml)."""
    return money(amount, current_profile().money.currency)


def _card(p: Product) -> ProductCard:
    return ProductCard(p.sku, p.name, p.unit_price, p.stock > 0)


def product_page(s: Session, page: int = 1, query: str = "", page_size: int = PAGE_SIZE) -> ProductPage:
    """One page of the catalogue by name, optionally filtered by a case-insensitive name search."""
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    where = [Product.name.ilike(f"%{_escape_like(query)}%", escape="\\")] if query else []
    total = s.scalar(select(func.count()).select_from(Product).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = s.scalars(select(Product).where(*where).order_by(Product.name, Product.sku)
                     .offset((page - 1) * page_size).limit(page_size)).all()
    return ProductPage([_card(p) for p in rows], page, pages, total, query)


def best_sellers(s: Session, limit: int = 8) -> list[ProductCard]:
    """In-stock products ordered most often: the storefront's featured row."""
    rows = s.execute(
        select(Product).join(OrderLine, OrderLine.product_id == Product.id)
        .where(Product.stock > 0).group_by(Product.id)
        .order_by(func.count(OrderLine.id).desc(), Product.sku).limit(limit)
    ).scalars().all()
    return [_card(p) for p in rows]


def product_by_sku(s: Session, sku: str) -> ProductCard | None:
    product = s.scalar(select(Product).where(Product.sku == sku.upper()))
    return _card(product) if product else None


def demo_shoppers(s: Session) -> list[DemoShopper]:
    """A few seeded customers whose latest order shows one situation each (processing, shipped, ...)."""
    situations = [
        (OrderStatus.PROCESSING, "has an order being prepared"),
        (OrderStatus.SHIPPED, "has an order on its way"),
        (OrderStatus.DELIVERED, "has a delivered order"),
    ]
    shoppers: list[DemoShopper] = []
    seen: set[int] = set()
    for status, situation in situations:
        row = s.execute(
            select(Customer, Order.number).join(Order, Order.customer_id == Customer.id)
            .where(Order.status == status, Customer.id.not_in(seen or {0}))
            .order_by(Order.placed_at.desc(), Order.id.desc()).limit(1)
        ).first()
        if row:
            customer, number = row
            seen.add(customer.id)
            shoppers.append(DemoShopper(customer.id, customer.name, customer.email, customer.country, situation,
                                        number))
    row = s.execute(
        select(Customer, Order.number).join(Order, Order.customer_id == Customer.id)
        .join(ReturnRequest, ReturnRequest.order_id == Order.id)
        .where(ReturnRequest.status.in_(OPEN_RETURN_STATUSES), Customer.id.not_in(seen or {0}))
        .order_by(ReturnRequest.created_at.desc()).limit(1)
    ).first()
    if row:
        customer, number = row
        shoppers.append(DemoShopper(customer.id, customer.name, customer.email, customer.country,
                                    "has a return in progress", number))
    return shoppers


def customer_name(s: Session, customer_id: int) -> str | None:
    return s.scalar(select(Customer.name).where(Customer.id == customer_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
