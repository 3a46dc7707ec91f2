"""Any CSV with a mapping file (YAML or TOML): a shop's own spreadsheet, its words and number formats."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Order, OrderStatus, Product
from tests.importers.conftest import FIXTURES, counts, run_import

YAML_MAPPING = FIXTURES / "generic_mapping.yml"


def test_yaml_mapping_with_semicolons_decimal_commas_and_day_first_dates(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "generic", "--mapping", str(YAML_MAPPING),
                           "--products", str(FIXTURES / "generic_products.csv"),
                           "--orders", str(FIXTURES / "generic_orders.csv"), "--skip-bad-rows")
    assert code == 0, out
    assert "generic_orders.csv:6: order A10004: unknown order status 'verloren': map it with " \
           "'verloren: STATUS' under statuses: in generic_mapping.yml" in out
    assert "generic_orders.csv:7: order A10005, item HNY-250: quantity '-1' must be more than 0" in out
    assert "generic_orders.csv:8: order A10006: order date '31.02.2025 11:00' is not a date" in out
    assert counts(engine) == (3, 2, 3)
    with Session(engine) as s:
        assert s.scalar(select(Product.unit_price).where(Product.sku == "HNY-250")) == Decimal("7.50")
        delivered = s.scalar(select(Order).where(Order.number == "A10003"))
        assert delivered.status is OrderStatus.DELIVERED and delivered.currency == "EUR"
        assert delivered.placed_at == datetime(2025, 11, 10, 17, 45)
        assert delivered.shipment.delivered_at == datetime(2025, 11, 13, 14, 20)
        assert delivered.shipment.carrier == "Österreichische Post"
        assert delivered.customer.country == "Austria" and delivered.customer.name == "Clara Meier"
        assert delivered.shipping_address == "Mariahilfer Straße 88, 1070 Wien, Austria"
        assert len(delivered.lines) == 2
        assert s.scalar(select(Order.status).where(Order.number == "A10001")) is OrderStatus.PROCESSING


def test_toml_mapping_with_one_address_column_and_a_default_currency(capsys, store_url, engine) -> None:
    code, out = run_import(capsys, store_url, "generic", "--mapping", str(FIXTURES / "generic_mapping.toml"),
                           "--orders", str(FIXTURES / "generic_simple.csv"))
    assert code == 0, out
    assert "the order desk can't look up from the chat" in out and "S-5001" in out  # said, still imported
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == "S-5002"))
        assert order.currency == "SGD" and order.placed_at == datetime(2025, 12, 4, 1, 30)  # +08:00 in UTC
        assert order.shipping_address == "8 Marina View, Singapore 018960, Singapore"
        assert order.customer.country == "Singapore"
        assert order.lines[0].unit_price == Decimal("18.00")


@pytest.mark.parametrize(("mapping", "message"), [
    ("orders: {number: Bestellnummer, emial: E-Mail}", "orders: unknown field(s) emial"),
    ("orders: {number: Bestellnummer}", "orders: map the column(s) of email, placed_at, status, quantity"),
    ("colour: blue", "unknown setting(s) colour"),
    ("orders: {number: Nummer, email: E-Mail, placed_at: Datum, status: Status, quantity: Menge, "
     "unit_price: Preis}\ndelimiter: ';'", "missing column(s) nummer, preis"),
])
def test_a_wrong_mapping_is_refused_with_what_to_fix(capsys, store_url, engine, tmp_path, mapping, message) -> None:
    path = tmp_path / "mapping.yml"
    path.write_text(mapping, encoding="utf-8")
    code, out = run_import(capsys, store_url, "generic", "--mapping", str(path),
                           "--orders", str(FIXTURES / "generic_orders.csv"))
    assert code == 2 and message in out and "nothing written" in out
    assert counts(engine) == (0, 0, 0)
