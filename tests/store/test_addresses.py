"""Delivery addresses: parsed into street, postcode and city, checked against the shop's delivery rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.addresses import AddressError, address_problem, canonical_country, delivery_countries, parse_address
from store.service import NotAllowed, OrderDesk

DOCS = Path(__file__).resolve().parents[2] / "knowledge" / "docs" / "shipping-delivery.md"
ALICE, BOB = 10001, 10002  # United Kingdom, France


@pytest.mark.parametrize(("text", "country", "stored"), [
    ("10 Downing Street, London SW1A 2AA", "United Kingdom", "10 Downing Street, London SW1A 2AA, United Kingdom"),
    ("22 baker street london nw1 6xe", "United Kingdom", "22 Baker Street, London NW1 6XE, United Kingdom"),
    ("1 New Street, LS1 1AA Leeds", "United Kingdom", "1 New Street, Leeds LS1 1AA, United Kingdom"),
    ("5 High St, Leeds, ls11ab", "United Kingdom", "5 High St, Leeds LS1 1AB, United Kingdom"),
    ("Flat 3, 22 Baker Street, Marylebone, London NW1 6XE, UK", "United Kingdom",
     "Flat 3, 22 Baker Street, Marylebone, London NW1 6XE, United Kingdom"),
    ("PO Box 123, Leeds LS1 1AB", "United Kingdom", "PO Box 123, Leeds LS1 1AB, United Kingdom"),
    ("  12 Rue de la Paix,\n75002 Paris, France ", "France", "12 Rue de la Paix, 75002 Paris, France"),
    ("Hauptstrasse 5 10115 Berlin", "Germany", "Hauptstrasse 5, 10115 Berlin, Germany"),
    ("Keizersgracht 123, 1015cj amsterdam", "Netherlands", "Keizersgracht 123, 1015 CJ Amsterdam, Netherlands"),
    ("12 Main St, Dublin 2", "EIRE", "12 Main St, Dublin 2, Ireland"),
])
def test_addresses_are_parsed_and_stored_in_one_format(text: str, country: str, stored: str) -> None:
    assert parse_address(text, country).formatted == stored


def test_parts() -> None:
    parsed = parse_address("22 baker street london nw1 6xe", "United Kingdom")
    assert (parsed.street, parsed.postcode, parsed.city) == ("22 Baker Street", "NW1 6XE", "London")


@pytest.mark.parametrize(("text", "country", "message"), [
    ("5 High St, Leeds, LS1 1A", "United Kingdom", "“LS1 1A” isn't a valid UK postcode"),
    ("5 High St, Leeds", "United Kingdom", "couldn't find the postcode"),
    ("PO Box 123, 75002 Paris", "France", "can't deliver to PO boxes outside the UK"),
    ("Postfach 12, 10115 Berlin", "Germany", "PO boxes"),
    ("12 Rue de la Paix, 75002 Paris, France", "United Kingdom", "has to be in the same country"),
    ("1 New Street, Leeds LS1 1AA", "France", "being delivered to France"),
    ("12 Red Square, Moscow, Russia", "United Kingdom", "We don't deliver to Russia"),
    ("Baker Street, London NW1 6XE", "United Kingdom", "house number"),
    ("1 High Street, LS1 1AA", "United Kingdom", "town or city"),
    ("here", "France", "full address"),
    ("1 " + "x" * 400, None, "too long"),
])
def test_each_problem_gets_a_clear_message(text: str, country: str | None, message: str) -> None:
    with pytest.raises(AddressError, match=re.escape(message)):
        parse_address(text, country)


def test_without_a_country_the_address_names_or_implies_one() -> None:
    assert address_problem("10 Downing Street, London SW1A 2AA") is None
    assert parse_address("10 Downing Street, London SW1A 2AA").country == "United Kingdom"
    assert address_problem("no numbers in this address") is not None


def test_the_delivery_countries_are_the_documents_own() -> None:
    """Every country of the docs' "We deliver to ..." sentence is one the parser knows as deliverable."""
    sentence = re.search(r"We deliver to ([^.]+?)\. If your", " ".join(DOCS.read_text().split())).group(1)
    named = [n.strip() for n in re.split(r",| and ", sentence.replace("the ", "")) if n.strip()]
    assert len(named) > 10
    for name in named:
        if name.startswith("every EU"):
            continue
        assert canonical_country(name) in delivery_countries(), name


def test_the_documents_state_the_rules() -> None:
    text = " ".join(DOCS.read_text().split())
    assert "We cannot deliver to PO boxes outside the UK" in text
    assert "same country" in text and "UK postcode" in text


def test_the_desk_stores_the_parsed_address_and_keeps_the_country(desk: OrderDesk) -> None:
    check = desk.check_new_address(BOB, "900006", "12 rue de la paix, 75002 paris")
    assert check == type(check)("12 Rue de la Paix, 75002 Paris, France", None)
    assert "same country" in desk.check_new_address(BOB, "900006", "1 New Street, Leeds LS1 1AA, UK").problem
    with pytest.raises(NotAllowed, match="PO boxes"):
        desk.change_shipping_address(BOB, "900006", "BP 12, 75002 Paris, France".replace("BP", "Boîte postale"))
    assert desk.change_shipping_address(BOB, "900006", check.address).shipping_address == check.address
    assert desk.order(BOB, "900006").country == "France"
