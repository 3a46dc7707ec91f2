"""Shopify's products and orders exports into a real, migrated SQLite store."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Customer, Order, OrderStatus, Product
from tests.importers.conftest import FIXTURES, counts, run_import, without_lines

PRODUCTS, ORDERS = FIXTURES / "shopify_products.csv", FIXTURES / "shopify_orders.csv"
BAD_PRODUCT_LINES, BAD_ORDER_LINES = {11, 12}, {7, 8, 9, 10}


def shopify(capsys, url: str, *extra: str, products: Path = PRODUCTS, orders: Path = ORDERS) -> tuple[int, str]:
    return run_import(capsys, url, "shopify", "--products", str(products), "--orders", str(orders), *extra)


def test_bad_rows_write_nothing_and_each_is_named_with_its_line(capsys, store_url, engine) -> None:
    code, out = shopify(capsys, store_url)
    assert code == 1 and "NOTHING written" in out
    assert counts(engine) == (0, 0, 0)
    assert "shopify_products.csv:11: product GFT-BOX: price 'twelve' is not an amount" in out
    assert "shopify_products.csv:12: product APR-LIN-NAT: SKU APR-LIN-NAT is already on line 2" in out
    assert "shopify_orders.csv:7: order 1005: email 'not-an-email' is not an email address" in out
    assert "shopify_orders.csv:8: order 1006: unknown order status 'lost in space'" in out
    assert "--status lost-in-space=STATUS" in out
    # the bad quantity is on the order's second row: the whole order is refused, never half of it
    assert "shopify_orders.csv:10: order 1007, item CND-BW-01: quantity 'two' is not a number" in out


def test_skip_bad_rows_imports_the_rest_as_the_shop_has_it(capsys, store_url, engine) -> None:
    code, out = shopify(capsys, store_url, "--skip-bad-rows")
    assert code == 0 and "left out (--skip-bad-rows)" in out and "5 bad row(s)" in out
    assert counts(engine) == (4, 3, 4)
    with Session(engine) as s:
        products = {p.sku: (p.name, p.unit_price, p.stock) for p in s.scalars(select(Product))}
        assert products == {"APR-LIN-NAT": ("Linen Apron - Natural", Decimal("28.00"), 14),
                            "APR-LIN-SAG": ("Linen Apron - Sage", Decimal("28.00"), 0),
                            "CND-BW-01": ("Beeswax Pillar Candle", Decimal("12.50"), 40),
                            "STONEWARE-MUG": ("Stoneware Mug", Decimal("18.00"), 25)}  # no SKU: one from its name

        jane = s.scalar(select(Customer).where(Customer.email == "jane.whitaker@example.co.uk"))
        assert jane.name == "Jane Whitaker" and jane.country == "United Kingdom"
        assert jane.address == "14 Market Street, Hebden Bridge HX7 6AA, United Kingdom"
        assert sorted(o.number for o in jane.orders) == ["1001", "1004"]

        first = s.scalar(select(Order).where(Order.number == "1001"))
        assert first.status is OrderStatus.SHIPPED and first.currency == "GBP"
        assert first.placed_at == datetime(2025, 11, 3, 9, 14, 22)
        assert [(ln.product.sku, ln.quantity, ln.unit_price) for ln in first.lines] == [
            ("APR-LIN-NAT", 1, Decimal("28.00")), ("CND-BW-01", 2, Decimal("12.50"))]
        assert (first.shipment.carrier, first.shipment.tracking_number) == ("Royal Mail", "RM123456785GB")
        assert first.shipment.shipped_at == datetime(2025, 11, 4, 10, 2)
        assert first.shipment.estimated_delivery is None  # the export doesn't say; nothing is made up
        assert first.invoice.amount == Decimal("57.95")  # the order's Total, shipping and tax included

        spain = s.scalar(select(Order).where(Order.number == "1002"))
        assert spain.customer.email == "luis.fernandez@example.es" and spain.customer.name == "Luis Fernández"
        assert spain.currency == "EUR" and spain.status is OrderStatus.PROCESSING and spain.shipment is None
        assert spain.placed_at == datetime(2025, 11, 20, 17, 30, 5)  # +0100 stored in UTC
        assert spain.shipping_address == "Calle de Alcalá 42, 3º B, 28014 Madrid, M, Spain"
        assert [ln.product.sku for ln in spain.lines] == ["STONEWARE-MUG"]  # found by its name

        refunded = s.scalar(select(Order).where(Order.number == "1003"))
        assert refunded.status is OrderStatus.RETURNED and refunded.currency == "USD"
        assert refunded.customer.country == "USA" and refunded.shipping_address.endswith("NY 10118, United States")
        cancelled = s.scalar(select(Order).where(Order.number == "1004"))
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.cancelled_at == datetime(2025, 12, 1, 9, 30)
        assert cancelled.invoice is None


def test_the_same_files_twice_change_nothing_and_a_changed_row_is_updated(capsys, store_url, engine,
                                                                         tmp_path) -> None:
    products = without_lines(PRODUCTS, tmp_path / "products.csv", BAD_PRODUCT_LINES)
    orders = without_lines(ORDERS, tmp_path / "orders.csv", BAD_ORDER_LINES)
    code, out = shopify(capsys, store_url, products=products, orders=orders)
    assert code == 0 and "written" in out and "bad row" not in out
    assert "orders:    4 new, 0 updated, 0 unchanged" in out

    code, out = shopify(capsys, store_url, products=products, orders=orders)
    assert code == 0 and counts(engine) == (4, 3, 4)
    assert "products:  0 new, 0 updated, 4 unchanged" in out
    assert "customers: 0 new, 0 updated, 3 unchanged" in out and "orders:    0 new, 0 updated, 4 unchanged" in out

    # The shop ships 1002 and puts the candle up: the next export says so.
    before = "+0100,unfulfilled,,,EUR"
    text = orders.read_text(encoding="utf-8")
    assert text.count(before) == 1
    orders.write_text(text.replace(before, "+0100,fulfilled,2025-11-21 09:00:00 +0100,,EUR"), encoding="utf-8")
    products.write_text(products.read_text(encoding="utf-8").replace(",12.50,", ",13.00,"), encoding="utf-8")
    code, out = shopify(capsys, store_url, products=products, orders=orders)
    assert code == 0 and "products:  0 new, 1 updated, 3 unchanged" in out
    assert "orders:    0 new, 1 updated, 3 unchanged" in out
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == "1002"))
        assert order.status is OrderStatus.SHIPPED and order.shipment.shipped_at == datetime(2025, 11, 21, 8)
        assert s.scalar(select(Product.unit_price).where(Product.sku == "CND-BW-01")) == Decimal("13.00")


def test_dry_run_counts_everything_and_writes_nothing(capsys, store_url, engine, tmp_path) -> None:
    orders = without_lines(ORDERS, tmp_path / "orders.csv", BAD_ORDER_LINES)
    code, out = shopify(capsys, store_url, "--dry-run", products=without_lines(
        PRODUCTS, tmp_path / "products.csv", BAD_PRODUCT_LINES), orders=orders)
    assert code == 0 and "dry run, nothing written" in out
    assert "orders (would be):    4 new" in out
    assert counts(engine) == (0, 0, 0)


def test_a_file_that_is_not_the_export_is_refused_before_anything_is_read(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "shopify", "--orders", str(PRODUCTS))
    assert code == 2 and "not a Shopify orders export: missing column(s) name, email" in out
    code, out = run_import(capsys, store_url, "shopify", "--orders", str(ORDERS), "--status", "lost=gone")
    assert code == 2 and "'gone' is not one of the store's statuses" in out


def test_a_status_the_shop_maps_itself_is_imported(capsys, store_url, engine, tmp_path) -> None:
    orders = without_lines(ORDERS, tmp_path / "orders.csv", {7, 9, 10})
    code, out = run_import(capsys, store_url, "shopify", "--orders", str(orders),
                           "--status", "lost in space=processing", "--status", "fulfilled=delivered")
    assert code == 0, out
    with Session(engine) as s:
        statuses = dict(s.execute(select(Order.number, Order.status)).tuples().all())
    assert statuses["1006"] is OrderStatus.PROCESSING and statuses["1001"] is OrderStatus.DELIVERED
    assert "delivered order(s) without a delivery date" in out  # Shopify's export has none: said, not invented
    assert "4 product(s) made from order lines" in out  # no products file: the items the orders name
