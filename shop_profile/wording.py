"""The profile's facts as the sentences customers read: opening hours, prices, delivery and returns.

One place writes each fact, so the contact answer, the handoff notice, the paused-chat note and the domain's
responses all say "Monday to Friday, 9:00 to 17:30 Berlin time" the same way. `response_values` are the
placeholders domain.yml's responses use ({shop_name}, {delivery_options}...).
"""

from __future__ import annotations

import re
from decimal import Decimal

from shop_profile.model import WEEKDAYS, DeliveryOption, OfficeHours, Region, ShopProfile

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
# Signs written before the amount; other currencies read "CHF 12.50". A table of currencies, not a shop fact.
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "JPY": "¥",
                  "INR": "₹"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
TONE_WORDS = {"friendly": ("Hi!", "Bye for now!"), "formal": ("Hello.", "Goodbye.")}


def money(amount: Decimal | float | int, currency: str, whole: bool = False) -> str:
    """"€1,234.50", "$9.95", "CHF 12.50"; with `whole`, a round amount without cents ("free over €30")."""
    sign = CURRENCY_SIGNS.get(currency.upper())
    value = Decimal(str(amount))
    number = f"{value:,.0f}" if whole and value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}{number}" if sign else f"{currency.upper()} {number}"


def business_days(count: int) -> str:
    return f"{count} business day{'s' if count != 1 else ''}"


def listing(items: list[str] | tuple[str, ...], last: str = " and ") -> str:
    """"a, b and c"; `last` joins the last two."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])}{last}{items[-1]}"


def day_span(days: tuple[str, ...]) -> str:
    """"Monday to Friday" for a run of days, else "Monday, Wednesday and Friday"."""
    indexes = [WEEKDAYS.index(d) for d in days]
    if len(indexes) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    return listing([DAY_NAMES[d] for d in days])


def office_hours(hours: OfficeHours) -> str:
    """"Monday to Friday, 9:00 to 17:30 Berlin time"."""
    return (f"{day_span(hours.days)}, {hours.opens.hour}:{hours.opens:%M} to {hours.closes.hour}:{hours.closes:%M} "
            f"{hours.time_zone_label}")


def phones(profile: ShopProfile) -> str:
    """"030 1234 5678 (Germany) or +49 30 1234 5678 from abroad"."""
    contact = profile.contact
    if not contact.phone_international or contact.phone_international == contact.phone:
        return contact.phone
    return f"{contact.phone} ({profile.home_region.name}) or {contact.phone_international} from abroad"


def _transit(days: int) -> str:
    return "delivered the next business day after dispatch" if days == 1 else f"about {days} days after dispatch"


def _option(option: DeliveryOption, currency: str, named: bool) -> str:
    price = ("from " if option.price_from else "") + money(option.price, currency)
    free = f" (free over {money(option.free_over, currency, whole=True)})" if option.free_over is not None else ""
    name = f"{option.name} " if named and option.name else ""
    return f"{name}{price}{free}, {_transit(option.transit_days)}"


def region_options(region: Region, currency: str) -> str:
    """"Germany orders go by DPD: Standard €4.90 (free over €50), about 2 days after dispatch, or ..."."""
    named = len(region.options) > 1
    options = listing([_option(o, currency, named) for o in region.options], last=", or ")
    return f"{region.name} orders go by {region.carrier}: {options}."


def dispatch_time(profile: ShopProfile) -> str:
    days = profile.delivery.dispatch_business_days
    return "the same business day" if days == 0 else business_days(days)


def delivery_options(profile: ShopProfile) -> str:
    lines = [region_options(r, profile.money.currency) for r in profile.delivery.regions]
    return " ".join([*lines, f"We dispatch within {dispatch_time(profile)}."])


def delivery_period(profile: ShopProfile) -> str:
    """"We dispatch within 1 business day. Germany deliveries arrive about 2 days after dispatch (DPD), ..."."""
    spans = [f"{r.name} deliveries {'arrive ' if i == 0 else ''}about {r.transit_days} days after dispatch "
             f"({r.carrier})" for i, r in enumerate(profile.delivery.regions)]
    return f"We dispatch within {dispatch_time(profile)}. {listing(spans, last=', ')}."


def refund_time(profile: ShopProfile) -> str:
    low, high = profile.returns.refund_business_days
    return business_days(high) if low == high else f"{low} to {high} business days"


def return_postage(profile: ShopProfile) -> str:
    """Who pays for sending a return back, region by region."""
    free = [r.place for r in profile.delivery.regions if r.free_returns]
    if len(free) == len(profile.delivery.regions):
        return "Returns are free with our prepaid label."
    if not free:
        return "You pay the return postage."
    if free == [profile.home_region.place]:
        where = f"outside {profile.home_region.place}"
    else:
        where = f"anywhere else than {listing(free)}"
    return f"Returns from {listing(free)} are free with our prepaid label; from {where} you pay the return postage."


def greeting(profile: ShopProfile) -> str:
    return TONE_WORDS[profile.assistant.tone][0]


def farewell(profile: ShopProfile) -> str:
    return TONE_WORDS[profile.assistant.tone][1]


def session_values(profile: ShopProfile) -> dict[str, str]:
    """Slots action_session_start sets, for the responses rules send directly (utter_greet, utter_iamabot...)."""
    return {"shop_name": profile.shop_name, "assistant_name": profile.assistant.name, "tone": profile.assistant.tone,
            "greeting": greeting(profile), "farewell": farewell(profile)}


def response_values(profile: ShopProfile) -> dict[str, str]:
    """Every placeholder domain.yml's responses use; actions pass them when they send a response."""
    currency = profile.money
    return {
        **session_values(profile),
        "support_email": profile.contact.email,
        "office_hours": office_hours(profile.office_hours),
        "dispatch_time": dispatch_time(profile),
        "payment_methods": listing(currency.payment_methods),
        "currency": currency.currency,
        "currency_name": currency.currency_name or currency.currency,
        "return_window_days": str(profile.returns.window_days),
        "return_postage": return_postage(profile),
        "refund_time": refund_time(profile),
        "delivery_options": delivery_options(profile),
        "delivery_period": delivery_period(profile),
        "invoice_example": invoice_example(profile),
    }


def invoice_example(profile: ShopProfile) -> str:
    """"INV-536365": an invoice number for the shop's first example order number."""
    examples = profile.order_numbers.examples
    return f"INV-{examples[0]}" if examples else "INV-<order number>"


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with the profile's {placeholders} filled in; anything else in braces is left as written (a canned
    reply an agent wrote may contain braces, and must never fail to show)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
