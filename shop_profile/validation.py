"""Reading shop.yml into a ShopProfile, with every mistake reported at once by field and file.

A shop owner edits this file by hand, so a typo must say where it is ("office_hours.time_zone: unknown
time zone 'Europe/Londn'"), not raise a KeyError deep inside an action. Unknown keys are errors too: a
misspelt optional field would otherwise be silently ignored. Standard library and PyYAML only.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from shop_profile.model import (
    TONES,
    WEEKDAYS,
    Assistant,
    Contact,
    Delivery,
    DeliveryOption,
    Money,
    OfficeHours,
    Region,
    Returns,
    ShopProfile,
    Warehouse,
)
from shop_profile.order_numbers import OrderNumbers, check_in_text, pattern_problem

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{4,30}")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")


class ProfileError(ValueError):
    """An invalid or unreadable shop profile; the message names the file and every bad field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid shop profile {source}:\n{listed}\n"
                         "(see docs/adopting.md, 'Your shop's words'; the demo shop's shop.yml is an example)")


class _Fields:
    """One mapping of the file: typed reads that record a problem (and return a placeholder) when wrong."""

    def __init__(self, data: Any, where: str, problems: list[str], missing: bool = False) -> None:
        self.where, self.problems, self.missing = where, problems, missing  # missing: reported once, above
        if not isinstance(data, dict):
            if data is not None:
                problems.append(f"{where or 'the file'}: expected a mapping of fields, got {_kind(data)}")
            data = {}
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, required: bool) -> Any:
        self.read.add(key)
        value = self.data.get(key)
        if value is None and required and not self.missing:
            self.problems.append(f"{self._path(key)}: required")
        return value

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self._path(key)}: {message}")

    def text(self, key: str, required: bool = True, default: str = "", pattern: re.Pattern[str] | None = None,
             example: str = "") -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(key, f"expected text, got {_kind(value)}")
            return default
        value = str(value).strip()
        if required and not value:
            self.problem(key, "must not be empty")
        elif pattern is not None and value and not pattern.fullmatch(value):
            self.problem(key, f"{value!r} is not valid" + (f" (write it like {example})" if example else ""))
        return value

    def integer(self, key: str, minimum: int, maximum: int) -> int:
        value = self._get(key, True)
        if value is None:
            return minimum
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.problem(key, f"expected a whole number from {minimum} to {maximum}, got {value!r}")
            return minimum
        return value

    def amount(self, key: str, required: bool = True) -> Decimal | None:
        value = self._get(key, required)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.problem(key, f"expected an amount like 3.95, got {value!r}")
            return None
        if not number.is_finite() or number < 0:
            self.problem(key, f"expected an amount of 0 or more, got {value!r}")
            return None
        return number

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {value!r}")
            return default
        return value

    def _list(self, key: str) -> list:
        """The required non-empty list at `key`, or [] with the problem noted."""
        value = self._get(key, True)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self.problem(key, f"expected a non-empty list, got {_kind(value)}")
            return []
        return value

    def texts(self, key: str) -> list[str]:
        value = self._list(key)
        items = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
                self.problems.append(f"{self._path(key)}[{i}]: expected text, got {item!r}")
            else:
                items.append(str(item).strip())
        return items

    def clock(self, key: str) -> time:
        value = self._get(key, True)
        if value is None:
            return time(0)
        match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            hint = " (put times in quotes: YAML reads 09:00 without them as a number)" if isinstance(value, int) else ""
            self.problem(key, f"expected a time like \"09:00\", got {value!r}{hint}")
            return time(0)
        return time(int(match[1]), int(match[2]))

    def section(self, key: str) -> _Fields:
        value = self._get(key, True)
        return _Fields(value, self._path(key), self.problems, missing=value is None)

    def sections(self, key: str) -> list[_Fields]:
        value = self._list(key)
        return [_Fields(item, f"{self._path(key)}[{i}]", self.problems) for i, item in enumerate(value)]

    def done(self) -> None:
        for key in sorted(set(self.data) - self.read, key=str):
            self.problem(str(key), "unknown field (misspelt?)")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), repr(value))


def parse_profile(data: Any, source: str) -> ShopProfile:
    """A ShopProfile from the file's parsed YAML; ProfileError listing every problem otherwise."""
    problems: list[str] = []
    root = _Fields(data, "", problems)
    if data is None:
        problems.append("the file is empty")

    shop = root.section("shop")
    shop_name = shop.text("name")
    shop.done()

    assistant_fields = root.section("assistant")
    assistant = Assistant(assistant_fields.text("name"), assistant_fields.text("tone", default="friendly",
                                                                             required=False))
    if assistant.tone not in TONES:
        assistant_fields.problem("tone", f"expected one of {', '.join(TONES)}, got {assistant.tone!r}")
    assistant_fields.done()

    c = root.section("contact")
    contact = Contact(c.text("email", pattern=_EMAIL, example="support@yourshop.com"),
                      c.text("email_reply_within", required=False, default="1 business day"),
                      c.text("phone", pattern=_PHONE, example="020 7946 0000"),
                      c.text("phone_international", required=False, pattern=_PHONE, example="+44 20 7946 0000"))
    c.done()

    office_hours = _office_hours(root.section("office_hours"))
    money = _money(root.section("money"))

    r = root.section("returns")
    window = r.integer("window_days", 0, 365)
    refund_days = r.texts("refund_business_days")
    refund_range = _day_range(r, refund_days)
    r.done()

    w = root.section("warehouse")
    warehouse = Warehouse(w.text("name"), w.text("address"), w.text("city"), w.text("country"))
    w.done()

    delivery = _delivery(root.section("delivery"))
    if warehouse.country and delivery.regions and delivery.region_for(warehouse.country) is None:
        problems.append(f"warehouse.country: {warehouse.country!r} is in none of delivery.regions (the region "
                        "holding it is the shop's home region)")
    order_numbers = _order_numbers(root) if root.data.get("order_numbers") is not None else OrderNumbers()
    root.done()
    if problems:
        raise ProfileError(source, problems)
    return ShopProfile(source, shop_name, assistant, contact, office_hours, money, Returns(window, refund_range),
                       warehouse, delivery, order_numbers)


def _order_numbers(root: _Fields) -> OrderNumbers:
    """The optional `order_numbers` section; without it, the demo shop's (OrderNumbers' defaults)."""
    f = root.section("order_numbers")
    pattern = f.text("pattern", example=r"S-\d{4,6}")
    pattern_ok = bool(pattern) and not _pattern_problem(f, "pattern", pattern)
    in_text = f.text("in_text", required=False, default=pattern)
    given = "in_text" in f.data  # else the same pattern, checked above
    in_text_ok = bool(in_text) and not _pattern_problem(f, "in_text", in_text) if given else pattern_ok
    given_prefixes = f.data.get("prefixes")
    prefixes = ("#",) if given_prefixes is None else () if given_prefixes == [] else tuple(f.texts("prefixes"))
    f.read.add("prefixes")  # [] for none
    for prefix in prefixes:
        if len(prefix) > 10 or any(c.isspace() for c in prefix):
            f.problem("prefixes", f"{prefix!r}: a prefix is a few characters without spaces, like \"#\"")
    if in_text_ok and (problem := check_in_text(in_text, prefixes)):
        f.problem("in_text", problem)
    numbers = OrderNumbers(pattern, in_text, prefixes,
                           tuple(f.texts("examples")) if f.data.get("examples") is not None else ())
    f.read.add("examples")
    for example in numbers.examples:
        if pattern_ok and numbers.normalize(example) is None:
            f.problem("examples", f"{example!r} does not match pattern {pattern!r}")
        elif in_text_ok and not numbers.find(f"order {example} please"):
            f.problem("examples", f"{example!r} would not be found in a message by in_text {in_text!r}")
    f.done()
    return numbers


def _pattern_problem(f: _Fields, key: str, pattern: str) -> bool:
    problem = pattern_problem(pattern)
    if problem:
        shown = pattern if len(pattern) <= 60 else f"{pattern[:57]}..."
        f.problem(key, f"{shown!r} {problem}")
    return bool(problem)


def _office_hours(f: _Fields) -> OfficeHours:
    days = [d.lower() for d in f.texts("days")]
    for day in days:
        if day not in WEEKDAYS:
            f.problem("days", f"{day!r} is not one of {', '.join(WEEKDAYS)}")
    opens, closes = f.clock("opens"), f.clock("closes")
    if opens >= closes and "opens" in f.data and "closes" in f.data:
        f.problem("closes", f"must be later than opens ({opens:%H:%M})")
    zone_name = f.text("time_zone", example="Europe/London")
    zone = ZoneInfo("UTC")
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            f.problem("time_zone", f"unknown time zone {zone_name!r} (use an IANA name like Europe/London)")
    hours = OfficeHours(tuple(d for d in WEEKDAYS if d in days), opens, closes, zone,
                        f.text("time_zone_label", required=False, default=zone_name),
                        f.text("closed_note", required=False))
    f.done()
    return hours


def _money(f: _Fields) -> Money:
    money = Money(f.text("currency", pattern=_CURRENCY, example="GBP"),
                  f.text("currency_name", required=False),
                  f.text("locale", pattern=_LOCALE, example="en-GB"),
                  tuple(f.texts("payment_methods")))
    f.done()
    return money


def _day_range(f: _Fields, values: list[str]) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in values)
        if not 0 <= low <= high <= 60:
            raise ValueError
    except ValueError:
        if values:
            f.problem("refund_business_days", f"expected two whole numbers, fastest first, like [3, 5]; got {values}")
        return (0, 0)
    return low, high


def _delivery(f: _Fields) -> Delivery:
    dispatch = f.integer("dispatch_business_days", 0, 30)
    regions: list[Region] = []
    seen: dict[str, str] = {}
    for rf in f.sections("regions"):
        region = _region(rf)
        for country in sorted(region.countries):
            if country in seen:
                rf.problem("countries", f"{country!r} is already in region {seen[country]!r}")
            seen.setdefault(country, region.name)
        if any(region.name == other.name for other in regions):
            rf.problem("name", f"{region.name!r} is used by another region")
        regions.append(region)
    f.done()
    return Delivery(dispatch, tuple(regions))


def _region(f: _Fields) -> Region:
    options = []
    for of in f.sections("options"):
        price = of.amount("price")
        option = DeliveryOption(of.text("name", required=False), price if price is not None else Decimal(0),
                                of.integer("transit_days", 1, 60), of.amount("free_over", required=False),
                                of.flag("price_from"))
        of.done()
        options.append(option)
    name = f.text("name")
    region = Region(name, f.text("place", required=False, default=name), frozenset(f.texts("countries")),
                    f.text("carrier"), f.integer("transit_days", 1, 60),
                    f.integer("lost_after_business_days", 1, 60), f.flag("free_returns"), f.flag("po_boxes"),
                    tuple(options))
    f.done()
    return region


def load_profile(path: str | Path) -> ShopProfile:
    """The profile in `path`; ProfileError (never a traceback-worthy exception) when unreadable or invalid."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(source, [f"cannot read the file: {error.strerror or error}"]) from None
    except UnicodeDecodeError:
        raise ProfileError(source, ["the file is not UTF-8 text"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ProfileError(source, [f"{where}not valid YAML ({getattr(error, 'problem', None) or error})"]) from None
    return parse_profile(data, source)
