"""WooCommerce's product export and the two order CSV layouts of its export extensions, into a real store."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Customer, Order, OrderStatus, Product
from tests.importers.conftest import FIXTURES, counts, run_import


def test_products_and_packed_line_items(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "woocommerce", "--products", str(FIXTURES / "woocommerce_products.csv"),
                           "--orders", str(FIXTURES / "woocommerce_orders.csv"), "--skip-bad-rows")
    assert code == 0, out
    assert "woocommerce_products.csv:7: product TEA-EB: price '' is not an amount" in out
    assert "woocommerce_orders.csv:6: order 2305: unknown order status 'checkout-draft'" in out
    assert "woocommerce_orders.csv:7: order 2306, item HNY-250: quantity '0' must be more than 0" in out
    assert "woocommerce_orders.csv:8: order 2307: currency 'EURO' is not an ISO 4217 code" in out
    assert counts(engine) == (4, 2, 4)
    with Session(engine) as s:
        skus = set(s.scalars(select(Product.sku)))
        assert skus == {"HNY-250", "SCK-WL-M", "SCK-WL-L", "GFT-CARD-25"}  # the variable parent has no price
        assert s.scalar(select(Product.unit_price).where(Product.sku == "SCK-WL-L")) == Decimal("14.00")

        shipped = s.scalar(select(Order).where(Order.number == "2301"))
        assert shipped.status is OrderStatus.SHIPPED and shipped.currency == "GBP"
        assert shipped.placed_at == datetime(2025, 11, 5, 14, 2, 11)
        assert [(ln.product.sku, ln.quantity, ln.unit_price) for ln in shipped.lines] == [
            ("HNY-250", 1, Decimal("7.50")), ("SCK-WL-M", 1, Decimal("14.00"))]
        assert (shipped.shipment.carrier, shipped.shipment.tracking_number) == ("Royal Mail", "RM987654321GB")
        assert shipped.invoice.amount == Decimal("25.45")
        assert shipped.customer.name == "Tom Ashworth"
        assert shipped.shipping_address == "7 Canal Wharf, Leeds LS11 5PS, United Kingdom"

        berlin = s.scalar(select(Order).where(Order.number == "2302"))
        assert berlin.currency == "EUR" and berlin.status is OrderStatus.PROCESSING
        assert berlin.lines[0].quantity == 2 and berlin.lines[0].unit_price == Decimal("14.00")  # total / quantity
        assert berlin.customer.country == "Germany"
        on_hold = s.scalar(select(Order).where(Order.number == "2303"))
        assert on_hold.status is OrderStatus.PROCESSING and on_hold.invoice is None  # not paid yet
        assert s.scalar(select(Order.status).where(Order.number == "2304")) is OrderStatus.RETURNED
        assert len(s.scalar(select(Customer).where(Customer.email == "tom.ashworth@example.org")).orders) == 3


def test_one_row_per_item_with_the_column_labels(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "woocommerce", "--orders",
                           str(FIXTURES / "woocommerce_orders_by_item.csv"))
    assert code == 0, out
    assert "customers: 1 new" in out and "orders:    2 new" in out
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == "2401"))
        assert order.status is OrderStatus.SHIPPED and order.currency == "EUR"
        assert [(ln.product.name, ln.quantity, ln.unit_price) for ln in order.lines] == [
            ("Wildflower Honey 250g", 3, Decimal("7.50")), ("Beeswax Pillar Candle", 1, Decimal("13.00"))]
        assert order.customer.email == "rose.byrne@example.ie" and order.customer.country == "EIRE"
        assert order.shipping_address == "22 Harcourt Street, Dublin D02 X285, Ireland"
        pending = s.scalar(select(Order.status).where(Order.number == "2402"))  # "Pending payment"
        assert pending is OrderStatus.PROCESSING


def test_an_orders_file_without_line_items_is_refused(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "woocommerce", "--orders", str(FIXTURES / "woocommerce_products.csv"))
    assert code == 2 and "not a WooCommerce orders export" in out and "line_item_1" in out
    assert counts(engine) == (0, 0, 0)
