"""One value of an export, checked and converted: money, counts, dates, currencies, countries, addresses.

Each function raises `FieldError` with a reason a shop owner can act on; the caller adds file and line.
Values are kept as the shop wrote them: dates with a UTC offset are stored in UTC (the store keeps naive
times, as the order desk's clock does), dates without one as written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import pycountry

from store.addresses import ParsedAddress, canonical_country
from store.service import normalize_email

# Day-first and month-first numeric dates are ambiguous; exports' own forms first, then a format given by the user.
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
TRUE_WORDS = frozenset({"1", "yes", "y", "true", "paid", "x"})


class FieldError(ValueError):
    pass


def money(text: str, what: str, decimal_comma: bool = False) -> Decimal:
    """'£1,234.50', '1234.5', 'EUR 12,50' (decimal_comma) -> Decimal('1234.50')."""
    cleaned = re.sub(r"[^\d,.\-]", "", text or "")
    cleaned = cleaned.replace(".", "").replace(",", ".") if decimal_comma else cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FieldError(f"{what} {text!r} is not an amount") from None
    if value < 0:
        raise FieldError(f"{what} {text!r} is negative")
    if value >= Decimal("100000000"):
        raise FieldError(f"{what} {text!r} is too large")
    return value.quantize(Decimal("0.01"))


def count(text: str, what: str, allow_zero: bool = False) -> int:
    """A whole number of items ('3', '3.0'); more than zero unless `allow_zero`."""
    try:
        value = Decimal((text or "").replace(",", ""))
    except InvalidOperation:
        raise FieldError(f"{what} {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise FieldError(f"{what} {text!r} is not a whole number")
    if value < 0 or (value == 0 and not allow_zero):
        raise FieldError(f"{what} {text!r} must be more than 0" if not allow_zero else f"{what} {text!r} is negative")
    return int(value)


def moment(text: str, what: str, date_format: str | None = None) -> datetime:
    """ISO 8601 (with or without offset, 'Z'), Shopify's '2024-03-01 14:05:09 +0100', or `date_format`."""
    value = " ".join((text or "").split())
    if not value:
        raise FieldError(f"no {what}")
    parsed = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for form in ((date_format,) if date_format else ()) + DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, form)
                break
            except ValueError:
                continue
    if parsed is None:
        hint = f" (expected {date_format})" if date_format else " (give its format with --date-format)"
        raise FieldError(f"{what} {text!r} is not a date{hint}")
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def optional_moment(text: str, what: str, date_format: str | None = None) -> datetime | None:
    return moment(text, what, date_format) if (text or "").strip() else None


def email(text: str) -> str:
    address = normalize_email(text)
    if address is None:
        raise FieldError(f"email {text!r} is not an email address" if text else
                         "no email (customers prove who they are with the email on their order)")
    return address


def currency(text: str) -> str:
    code = (text or "").strip().upper()
    if not code:
        raise FieldError("no currency (give the shop's with --currency)")
    if pycountry.currencies.get(alpha_3=code) is None:
        raise FieldError(f"currency {text!r} is not an ISO 4217 code such as GBP, EUR or USD")
    return code


def country(text: str) -> str:
    """The store's name for a country given as an ISO code ('GB', 'DEU') or a name ('Deutschland')."""
    value = " ".join((text or "").split())
    if not value:
        return ""
    if named := canonical_country(value):
        return named
    found = None
    if len(value) in (2, 3) and value.isalpha():
        found = pycountry.countries.get(**{f"alpha_{len(value)}": value.upper()})
    if found is None:
        try:
            found = pycountry.countries.lookup(value)
        except LookupError:
            return value  # kept as the shop wrote it
    name = getattr(found, "common_name", None) or found.name
    return canonical_country(name) or name


def address(street: str, street2: str, city: str, postcode: str, region: str, country_value: str) -> str:
    """The store's one-line address ("22 Baker St, London NW1 6XE, United Kingdom"), parts kept as written."""
    street_line = ", ".join(p for p in (street, street2) if p)
    town = ", ".join(p for p in (city, region) if p)
    if not country_value:
        return ", ".join(p for p in (street_line, town, postcode) if p)
    formatted = ParsedAddress(street=street_line, postcode=postcode, city=town, country=country_value).formatted
    return ", ".join(part.strip() for part in formatted.split(", ") if part.strip())
