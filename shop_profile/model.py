"""The shop profile as typed, read-only values (built and checked by shop_profile.validation).

Pure standard library: the Rasa server (Python 3.10) imports it as well as the action server and web apps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from shop_profile.order_numbers import OrderNumbers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TONES = ("friendly", "formal")


@dataclass(frozen=True)
class Assistant:
    name: str
    tone: str  # one of TONES


@dataclass(frozen=True)
class Contact:
    email: str
    email_reply_within: str  # "1 business day"
    phone: str  # as callers in the shop's own country dial it
    phone_international: str  # with the country code, for callers abroad ("" when the same)


@dataclass(frozen=True)
class OfficeHours:
    days: tuple[str, ...]  # WEEKDAYS, in week order
    opens: time
    closes: time
    time_zone: ZoneInfo
    time_zone_label: str  # "Berlin time": how customers name the zone
    closed_note: str  # "closed at weekends and on bank holidays"

    def is_open(self, moment: datetime) -> bool:
        """Whether the team works at `moment` (an aware datetime; naive ones are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        local = moment.astimezone(self.time_zone)
        return WEEKDAYS[local.weekday()] in self.days and self.opens <= local.time() < self.closes


@dataclass(frozen=True)
class Money:
    currency: str  # ISO 4217 code
    currency_name: str  # "pounds sterling"
    locale: str  # BCP 47 tag, e.g. en-GB: the widget's and the storefront's language and number format
    payment_methods: tuple[str, ...]


@dataclass(frozen=True)
class Returns:
    window_days: int
    refund_business_days: tuple[int, int]  # fastest, slowest


@dataclass(frozen=True)
class Warehouse:
    name: str
    address: str  # also the returns address
    city: str
    country: str  # as the store names countries; its region is the home region


@dataclass(frozen=True)
class DeliveryOption:
    name: str  # "" for a region's only option
    price: Decimal
    transit_days: int  # business days after dispatch
    free_over: Decimal | None = None  # order value above which it is free
    price_from: bool = False  # the price is the cheapest of several (by destination)


@dataclass(frozen=True)
class Region:
    name: str  # "UK", "International": as in "UK orders go by ..."
    place: str  # "the UK": the region inside a sentence ("returns from the UK")
    countries: frozenset[str]
    carrier: str
    transit_days: int
    lost_after_business_days: int  # a late parcel is traced as lost this long after its due date
    free_returns: bool  # prepaid returns label
    po_boxes: bool  # whether the carrier delivers to PO boxes
    options: tuple[DeliveryOption, ...]


@dataclass(frozen=True)
class Delivery:
    dispatch_business_days: int
    regions: tuple[Region, ...]

    def region_for(self, country: str | None) -> Region | None:
        return next((r for r in self.regions if country in r.countries), None)

    @property
    def countries(self) -> frozenset[str]:
        return frozenset().union(*(r.countries for r in self.regions))


@dataclass(frozen=True)
class ShopProfile:
    source: str  # the file it was read from, for messages
    shop_name: str
    assistant: Assistant
    contact: Contact
    office_hours: OfficeHours
    money: Money
    returns: Returns
    warehouse: Warehouse
    delivery: Delivery
    order_numbers: OrderNumbers = field(default_factory=OrderNumbers)  # what the shop's order numbers look like

    @property
    def home_region(self) -> Region:
        """The region the warehouse is in: domestic delivery (validation guarantees there is one)."""
        region = self.delivery.region_for(self.warehouse.country)
        assert region is not None
        return region

    def is_domestic(self, country: str | None) -> bool:
        return bool(country) and country in self.home_region.countries

    @property
    def abroad_region(self) -> Region | None:
        """The first region other than the home one (None for a shop that delivers only at home)."""
        return next((r for r in self.delivery.regions if r is not self.home_region), None)
