"""Test profiles: the demo shop's shop.yml with some fields changed, written to a temporary file."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((ROOT / "shop.yml").read_text())


def write_profile(directory: Path, change: Callable[[dict[str, Any]], None] | None = None,
                  name: str = "shop.yml") -> Path:
    data = copy.deepcopy(DEMO)
    if change is not None:
        change(data)
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def other_shop(data: dict[str, Any]) -> None:
    """Another shop: Berlin, euros, its own name, email, phone, hours and return window."""
    data["shop"]["name"] = "Kiezladen Berlin"
    data["assistant"] = {"name": "Lotte", "tone": "formal"}
    data["contact"].update(email="hilfe@kiezladen.example", phone="030 1234 5678",
                           phone_international="+49 30 1234 5678")
    data["office_hours"].update(days=["mon", "tue", "wed", "thu", "fri", "sat"], opens="10:00", closes="18:00",
                                time_zone="Europe/Berlin", time_zone_label="Berlin time",
                                closed_note="closed on Sundays and public holidays")
    data["money"].update(currency="EUR", currency_name="euros", locale="de-DE",
                         payment_methods=["Visa", "Mastercard", "PayPal", "Klarna"])
    data["returns"] = {"window_days": 14, "refund_business_days": [2, 4]}
    data["warehouse"] = {"name": "Kiezladen Lager", "address": "Lagerstraße 5, 10115 Berlin, Germany",
                         "city": "Berlin", "country": "Germany"}
    data["delivery"]["regions"] = [
        {"name": "Germany", "place": "Germany", "countries": ["Germany"], "carrier": "DHL Paket", "transit_days": 1,
         "lost_after_business_days": 4, "free_returns": True, "po_boxes": True,
         "options": [{"price": 4.9, "free_over": 50, "transit_days": 1}]},
        {"name": "EU", "place": "the EU", "countries": ["France", "Austria", "United Kingdom"], "carrier": "DPD",
         "transit_days": 3, "lost_after_business_days": 8, "free_returns": False, "po_boxes": False,
         "options": [{"price": 12.5, "transit_days": 3}]},
    ]
