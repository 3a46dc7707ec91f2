"""Delivery addresses typed into a chat: parsed into street, postcode and city, checked against the shop's
delivery rules (the shop profile's delivery regions, shop.yml), and stored in one tidy format.

Why parse at all: a free-text address is what the warehouse prints on the label, so "22 baker st london
nw1 6xe" must become "22 Baker St, London NW1 6XE, United Kingdom", and an address the carrier cannot use
(no house number, a mistyped postcode, a PO box abroad, another country) must be refused with a message
that says exactly what to fix. The rules:
- a changed address stays in the order's country (charges and customs were worked out for it), or within
  the shop's home region;
- postcodes are checked where their format is well known (UK postcodes for the UK and the islands that
  use them);
- PO boxes only where the region's carrier delivers to them (a region's `po_boxes`).
No database, no Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shop_profile import current_profile

MAX_ADDRESS_LENGTH = 300

# Countries as the store names them (Customer.country, from the Online Retail data) -> display name.
DISPLAY_NAMES = {"EIRE": "Ireland", "USA": "United States", "RSA": "South Africa", "European Community": "EU"}
# Places that use UK postcodes (a fact about postcodes, not about the shop).
UK_POSTCODE_COUNTRIES = frozenset({"United Kingdom", "Channel Islands", "Isle of Man"})
EU = frozenset({"Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czech Republic", "Denmark", "Estonia",
                "Finland", "France", "Germany", "Greece", "Hungary", "EIRE", "Italy", "Latvia", "Lithuania",
                "Luxembourg", "Malta", "Netherlands", "Poland", "Portugal", "Romania", "Slovakia", "Slovenia",
                "Spain", "Sweden", "European Community"})
# Country names customers write, as the store names them (which of them the shop delivers to is shop.yml's).
KNOWN_COUNTRIES = UK_POSTCODE_COUNTRIES | EU | frozenset({
    "Norway", "Switzerland", "Iceland", "USA", "Canada", "Australia", "New Zealand", "Japan", "Singapore",
    "Hong Kong", "Israel", "United Arab Emirates"})

_ALIASES = {
    "uk": "United Kingdom", "u.k.": "United Kingdom", "united kingdom": "United Kingdom", "gb": "United Kingdom",
    "great britain": "United Kingdom", "britain": "United Kingdom", "england": "United Kingdom",
    "scotland": "United Kingdom", "wales": "United Kingdom", "northern ireland": "United Kingdom",
    "ireland": "EIRE", "eire": "EIRE", "republic of ireland": "EIRE", "deutschland": "Germany",
    "usa": "USA", "u.s.": "USA", "u.s.a.": "USA", "united states": "USA", "united states of america": "USA",
    "uae": "United Arab Emirates", "the netherlands": "Netherlands",
    "holland": "Netherlands", "españa": "Spain", "italia": "Italy", "schweiz": "Switzerland", "suisse": "Switzerland",
    "österreich": "Austria", "south africa": "RSA", "rsa": "RSA", "czechia": "Czech Republic",
    **{name.lower(): name for name in KNOWN_COUNTRIES | {"Russia", "China", "India", "Brazil", "Mexico",
                                                             "Turkey", "Ukraine", "Lebanon", "Bahrain",
                                                             "Saudi Arabia", "Nigeria", "Egypt", "Argentina"}},
}

UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}"
_UK_ATTEMPT = re.compile(r"(?<![A-Z0-9])[A-Z]{1,2}\d[A-Z\d]?(?: ?\d[A-Z]{0,3})?(?![A-Z0-9])")  # what looks meant as one


@dataclass(frozen=True)
class PostcodeRule:
    pattern: str  # one postcode, upper case
    example: str
    required: bool = True
    city_first: bool = False  # "London SW1A 2AA" rather than "75002 Paris"


_FIVE, _FOUR = PostcodeRule(r"\d{5}", "75002"), PostcodeRule(r"\d{4}", "1000")
POSTCODES: dict[str, PostcodeRule] = {
    **{c: PostcodeRule(UK_POSTCODE, "LS10 1AB", city_first=True) for c in UK_POSTCODE_COUNTRIES},
    **{c: _FIVE for c in ("France", "Germany", "Spain", "Italy", "Finland", "Lithuania", "Croatia", "Estonia")},
    **{c: _FOUR for c in ("Belgium", "Switzerland", "Austria", "Denmark", "Norway", "Cyprus", "Bulgaria",
                          "Hungary", "Slovenia", "Luxembourg", "New Zealand")},
    "Australia": PostcodeRule(r"\d{4}", "2000", city_first=True),
    "Netherlands": PostcodeRule(r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "Portugal": PostcodeRule(r"\d{4}-\d{3}", "1100-148"),
    "Poland": PostcodeRule(r"\d{2}-\d{3}", "00-950"),
    "Sweden": PostcodeRule(r"\d{3} ?\d{2}", "111 22"),
    "Czech Republic": PostcodeRule(r"\d{3} ?\d{2}", "110 00"),
    "Greece": PostcodeRule(r"\d{3} ?\d{2}", "105 57"),
    "Iceland": PostcodeRule(r"\d{3}", "101"),
    "Malta": PostcodeRule(r"[A-Z]{3} ?\d{4}", "VLT 1117"),
    "USA": PostcodeRule(r"\d{5}(?:-\d{4})?", "10001", city_first=True),
    "Canada": PostcodeRule(r"[A-Z]\d[A-Z] ?\d[A-Z]\d", "K1A 0B1", city_first=True),
    "Japan": PostcodeRule(r"\d{3}-\d{4}", "100-0001"),
    "Singapore": PostcodeRule(r"\d{6}", "018956"),
    "Israel": PostcodeRule(r"\d{7}", "6100000"),
    "EIRE": PostcodeRule(r"[AC-FHKNPRTV-Y]\d[\dW] ?[AC-FHKNPRTV-Y\d]{4}", "D02 X285", required=False,
                         city_first=True),
    "Hong Kong": PostcodeRule(r"(?!)", "", required=False, city_first=True),
    "United Arab Emirates": PostcodeRule(r"(?!)", "", required=False, city_first=True),
}
_ANY_POSTCODE = PostcodeRule(r"[A-Z0-9]{0,4}\d[A-Z0-9]{0,4}(?:[ -][A-Z0-9]{2,4})?", "", required=False)

_PO_BOX = re.compile(r"(?i)\b(?:p\.?\s?o\.?\s?box|post\s?office\s?box|postfach|bo[iî]te\s+postale|"
                     r"apartado(?:\s+de\s+correos)?|casella\s+postale|postbus|postboks|box\s+\d+)\b")
_STREET_WORDS = re.compile(
    r"(?i)\b(?:street|st|road|rd|avenue|ave|lane|ln|way|drive|dr|close|cl|place|pl|court|ct|crescent|cres|"
    r"terrace|gardens|gdns|square|sq|grove|hill|row|walk|mews|park|parade|boulevard|blvd|highway|"
    r"rue|allée|chemin|via|viale|calle|avenida|plaza|straat|weg|laan|gasse|platz|allee|"
    r"[a-zäöüß]+(?:straße|strasse|str\.?|weg|gasse|platz|vej|gatan|gata|veien))\b\.?")


class AddressError(ValueError):
    """The address can't be used; the message tells the customer what to fix."""


@dataclass(frozen=True)
class ParsedAddress:
    street: str  # with house number (and flat, building, district...)
    postcode: str  # normalised, "" where the country has none
    city: str
    country: str  # as the store names it

    @property
    def formatted(self) -> str:
        rule = POSTCODES.get(self.country, _ANY_POSTCODE)
        place = " ".join(p for p in ((self.city, self.postcode) if rule.city_first else (self.postcode, self.city))
                         if p)
        return f"{self.street}, {place}, {country_name(self.country)}"


def country_name(country: str) -> str:
    return DISPLAY_NAMES.get(country, country)


def in_prose(country: str) -> str:
    """"the United Kingdom", "France": the country's name inside a sentence."""
    name = country_name(country)
    return f"the {name}" if name.startswith(("United", "Netherlands", "Czech", "Channel", "Isle")) else name


def delivery_countries() -> frozenset[str]:
    """Every country of the shop's delivery regions."""
    return current_profile().delivery.countries


def _home_countries() -> frozenset[str]:
    return current_profile().home_region.countries


def canonical_country(text: str | None) -> str | None:
    """The store's name for a country written by a customer ("UK", "Deutschland"), or None."""
    if not text:
        return None
    key = " ".join(text.split()).strip(" .").lower()
    return _ALIASES.get(key) or next((c for c in delivery_countries() if c.lower() == key), None)


def country_at_end(address: str) -> str | None:
    """The country an existing address ends with (", France"), or None."""
    last = address.rsplit(",", 1)[-1]
    return canonical_country(last)


def parse_address(text: str | None, country: str | None = None) -> ParsedAddress:
    """`text` as an address in `country` (the order's; None: whichever it names or implies)."""
    raw = (text or "").strip()
    if len(" ".join(raw.split())) > MAX_ADDRESS_LENGTH:
        raise AddressError(f"That address is too long (at most {MAX_ADDRESS_LENGTH} characters, please).")
    parts = [" ".join(p.split()).strip(" .") for p in re.split(r"[,;\n]", raw)]
    parts = [p for p in parts if p]
    flat = " ".join(parts)
    if len(flat) < 8 or not re.search(r"\d", flat) or len(re.findall(r"[^\W\d_]{2,}", flat)) < 2:
        raise AddressError("That doesn't look like a full address. Please include street and house number, "
                           "postcode and city, e.g. “22 Baker Street, London NW1 6XE”.")
    parts, named = _split_country(parts)
    if country is None:
        country = named or ("United Kingdom" if _find(UK_POSTCODE, parts) else "")
    home = _home_countries()
    if named and named != country and not (named in home and country in home):
        raise AddressError(_other_country(country, named))
    if _PO_BOX.search(flat):
        _check_po_box(country)
    rule = POSTCODES.get(country, _ANY_POSTCODE)
    found = _find(rule.pattern, parts)
    if found is None and rule.required:
        if country not in UK_POSTCODE_COUNTRIES and _find(UK_POSTCODE, parts):
            raise AddressError(_other_country(country, "United Kingdom"))
        raise AddressError(_postcode_problem(country, rule, parts))
    postcode, parts = ("", parts) if found is None else _cut(parts, *found)
    street, city = _street_and_city(parts, found)
    if not city or not re.search(r"[^\W\d_]{2,}", city):
        raise AddressError("Which town or city is that in? Please write the address as street and house number, "
                           "postcode and city, separated by commas.")
    if not re.search(r"[^\W\d_]{2,}", street) or not re.search(r"\d", street):
        raise AddressError("Please include the street and house number (for example “22 Baker Street”).")
    return ParsedAddress(street=_tidy(street), postcode=_normalise_postcode(postcode, country), city=_tidy(city),
                         country=country)


def address_problem(text: str | None, country: str | None = None) -> str | None:
    """Why `text` can't be a delivery address in `country`, or None when it can."""
    try:
        parse_address(text, country)
    except AddressError as problem:
        return str(problem)
    return None


# --- internals ----------------------------------------------------------------------------------------------

def _split_country(parts: list[str]) -> tuple[list[str], str | None]:
    """Parts without a trailing country name (a part of its own, or the last words of the last part)."""
    if len(parts) > 1 and (named := canonical_country(parts[-1])):
        return parts[:-1], named
    words = parts[-1].split()
    for size in (3, 2, 1):
        if len(words) > size and (named := canonical_country(" ".join(words[-size:]))):
            return [*parts[:-1], " ".join(words[:-size])], named
    return parts, None


def _find(pattern: str, parts: list[str]) -> tuple[int, re.Match[str]] | None:
    """The last postcode in `parts`: (index of its part, match). The first part is the street, so it only
    counts in a one-line address, and never its leading house number."""
    compiled = re.compile(rf"(?<![A-Z0-9]){pattern}(?![A-Z0-9])")
    if len(parts) == 1:
        matches = [m for m in compiled.finditer(parts[0].upper()) if m.start() > 0]
        return (0, matches[-1]) if matches else None
    for index in range(len(parts) - 1, 0, -1):
        matches = list(compiled.finditer(parts[index].upper()))
        if matches:
            return index, matches[-1]
    return None


def _cut(parts: list[str], index: int, match: re.Match[str]) -> tuple[str, list[str]]:
    """The postcode's text, and `parts` with it replaced by a NUL (so what was before and after it is known)."""
    part = parts[index]
    rest = part[:match.start()] + "\0" + part[match.end():]
    return part[match.start():match.end()], [*parts[:index], rest, *parts[index + 1:]]


def _street_and_city(parts: list[str], found: tuple[int, re.Match[str]] | None) -> tuple[str, str]:
    if found is None:  # no postcode (a country without them): the last part is the city
        return _split_single(parts[0]) if len(parts) < 2 else (", ".join(parts[:-1]), parts[-1])
    index = found[0]
    before, _, after = (text.strip(" ,") for text in parts[index].partition("\0"))
    if len(parts) == 1:  # one line: "Hauptstrasse 5 10115 Berlin", "22 Baker St London NW1 6XE"
        return (before, after) if after else _split_single(before)
    if before or after:  # "London SW1A 2AA", "75002 Paris": the city shares the postcode's part
        return ", ".join(parts[:index] + parts[index + 1:]), " ".join(p for p in (before, after) if p)
    if index + 1 < len(parts):  # "..., YO1 7HH, York"
        return ", ".join(parts[:index] + parts[index + 2:]), parts[index + 1]
    if index < 2:  # "1 High Street, LS1 1AA": no city
        return parts[0], ""
    return ", ".join(parts[:index - 1]), parts[index - 1]  # "..., York, YO1 7HH"


def _split_single(text: str) -> tuple[str, str]:
    """"22 Baker Street London" -> ("22 Baker Street", "London"): the city follows the street's type word."""
    matches = list(_STREET_WORDS.finditer(text))
    if not matches:
        return text, ""
    end = matches[-1].end()
    return text[:end].strip(), text[end:].strip(" ,")


def _normalise_postcode(postcode: str, country: str) -> str:
    code = " ".join(postcode.upper().split())
    if country in UK_POSTCODE_COUNTRIES or country == "Canada":
        compact = code.replace(" ", "")
        return f"{compact[:-3]} {compact[-3:]}"
    if country == "Netherlands":
        return f"{code[:4]} {code[-2:]}" if len(code.replace(' ', '')) == 6 else code
    return code


def _tidy(text: str) -> str:
    """Capitalised when typed all in lower or upper case; otherwise as the customer wrote it."""
    text = " ".join(text.replace("\0", " ").split()).strip(" ,")
    shouted = text == text.upper() and re.search(r"[^\W\d_]{4,}", text)
    if text == text.lower() or shouted:
        return re.sub(r"(?<![\w'’])([^\W\d_])([\w'’]*)", _capitalise, text)
    return text


_SMALL_WORDS = frozenset({"de", "la", "le", "les", "du", "des", "der", "die", "das", "von", "van", "den", "del",
                          "della", "di", "da", "do", "dos", "y", "of", "the", "and", "upon", "on", "en", "sur"})


def _capitalise(word: re.Match[str]) -> str:
    whole = word.group(0).lower()
    if word.start() > 0 and whole in _SMALL_WORDS:
        return whole
    return word.group(1).upper() + word.group(2).lower()


def _postcode_problem(country: str, rule: PostcodeRule, parts: list[str]) -> str:
    where = country_name(country)
    if country in UK_POSTCODE_COUNTRIES:
        attempt = _UK_ATTEMPT.search(" ".join(parts[1:] or parts).upper())
        start = f"“{attempt.group(0)}” isn't a valid UK postcode." if attempt else "I couldn't find the postcode."
        return f"{start} UK postcodes look like LS10 1AB or SW1A 2AA; please send the full address again."
    return (f"I couldn't find a postcode for {where} in that address (it looks like {rule.example}). Please send "
            "the full address again: street and house number, postcode and city.")


def _check_po_box(country: str) -> None:
    """PO boxes only where the region's carrier delivers to them."""
    profile = current_profile()
    region = profile.delivery.region_for(country)
    if region is not None and region.po_boxes:
        return
    allowed = [r.place for r in profile.delivery.regions if r.po_boxes]
    where = f" outside {' and '.join(allowed)}" if allowed else ""
    carrier = f": {region.carrier} needs a street address" if region is not None else ""
    raise AddressError(f"Sorry, we can't deliver to PO boxes{where}{carrier}. Please give a street address with "
                       "house number, postcode and city.")


def _other_country(country: str, named: str) -> str:
    if not country:
        return f"Sorry, we don't deliver to {in_prose(named)}."
    base = (f"This order is being delivered to {in_prose(country)}, and a new address has to be in the same "
            "country (delivery charges and customs depend on it).")
    if named not in delivery_countries():
        return f"{base} We don't deliver to {in_prose(named)} at the moment."
    return f"{base} To send it to {in_prose(named)}, cancel this order and place a new one."


__all__ = ["MAX_ADDRESS_LENGTH", "AddressError", "ParsedAddress", "address_problem", "canonical_country",
           "country_at_end", "country_name", "delivery_countries", "parse_address"]
