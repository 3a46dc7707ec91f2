from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.migrate import upgrade_database
from store.models import Customer, Invoice, Order, Product
from store.seed import SeedError, main, read_invoices, seed
from tests.store.conftest import FIXTURE


def test_seed_spreads_statuses_by_order_age(engine) -> None:
    with Session(engine) as s:
        statuses = dict(s.execute(select(Order.number, Order.status)).all())
    assert {k: v.value for k, v in statuses.items()} == {
        "900001": "processing", "900002": "shipped", "900003": "delivered",
        "900004": "delivered", "C900005": "cancelled", "900006": "processing",
    }


def test_seed_skips_guests_postage_and_zero_quantities() -> None:
    invoices, catalogue = read_invoices(FIXTURE)
    assert "900007" not in invoices and "900009" not in invoices
    assert "POST" not in catalogue
    assert catalogue["85123A"][0] == "White Hanging Heart T-Light Holder"


def test_seed_creates_customers_invoices_and_shipments(engine) -> None:
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 2
        assert s.scalar(select(func.count()).select_from(Product)) == 5
        invoice = s.scalar(select(Invoice).where(Invoice.number == "INV-900003"))
        assert invoice is not None and invoice.amount == invoice.order.total
        shipped = s.scalar(select(Order).where(Order.number == "900002"))
        assert shipped.shipment is not None and shipped.shipment.delivered_at is None
        assert [e.status.value for e in shipped.shipment.events] == ["label_created", "in_transit"]
        emails = s.scalars(select(Customer.email)).all()
        assert all(e.endswith("@example.com") for e in emails)


def test_seed_is_deterministic(tmp_path: Path) -> None:
    def snapshot(name: str) -> list[tuple]:
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade_database(engine)
        seed(engine, FIXTURE, rng_seed=3)
        with Session(engine) as s:
            rows = s.execute(select(Customer.id, Customer.email, Customer.address).order_by(Customer.id)).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    assert snapshot("a.db") == snapshot("b.db")


def test_seed_refuses_to_seed_twice_and_bad_files(engine, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="already has orders"):
        seed(engine, FIXTURE)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade_database(fresh)
    with pytest.raises(SeedError, match="not an Online Retail file"):
        seed(fresh, bad)
    with pytest.raises(SeedError, match="not found"):
        seed(fresh, tmp_path / "missing.csv")


def test_seed_cli_if_empty_and_reset(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--data", str(FIXTURE), "--database-url", url]) == 0
    assert main(["--data", str(FIXTURE), "--database-url", url, "--if-empty"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["--data", str(FIXTURE), "--database-url", url]) == 1
    assert main(["--data", str(FIXTURE), "--database-url", url, "--reset"]) == 0
