"""No fact of the demo shop is written into code, templates or canned responses: they come from shop.yml.

The facts are read from the demo shop's profile itself (its name, assistant, email domain, phone numbers,
time-zone words, warehouse city, carriers, currency sign and code), plus the storefront's old made-up name,
so a fact added to shop.yml is guarded too. Searched: every tracked or new file of the code, templates and
domain.yml. Not searched: shop.yml, tests and their fixtures, docs and README, the shop's documents
(knowledge/docs), NLU training examples and benchmark data (customers' own words). The few remaining
mentions are listed below with why they are not the shop's facts.
"""

from __future__ import annotations

import re
import subprocess

from shop_profile import load_profile
from shop_profile.wording import CURRENCY_SIGNS
from tests.shop_profile.support import ROOT

SEARCHED = re.compile(r"\.(py|ya?ml|html|js|css|json|toml|cfg|ini|sh|txt)$|(^|/)Makefile$")
NOT_SEARCHED = re.compile(r"^(tests|docs|knowledge/docs|training_data|bench)/|^shop\.yml$|\.md$")
CURRENCY_WORDS = {"actions/message_parsing.py", "recommender/parsing.py", "knowledge/chunking.py",
                  "knowledge/lexical.py"}  # "£" as customers and documents write prices: reading, not saying
ALLOWED: dict[str, set[str]] = {
    **{path: {"£"} for path in CURRENCY_WORDS},
    "shop_profile/wording.py": {"£", "GBP"},  # the table of currency signs
    "shop_profile/validation.py": {"GBP", "Europe/London"},  # "write it like ..." examples in error messages
    "store/seed.py": {"GBP"},  # the Online Retail data set's prices are in sterling
    "store/importers/fields.py": {"£", "GBP"},  # parsing exports: currency signs and "such as GBP" in errors
}


def demo_facts() -> set[str]:
    profile = load_profile(ROOT / "shop.yml")
    return {
        profile.shop_name, profile.assistant.name, profile.contact.email.split("@")[1],
        *(" ".join(p.split()[-2:]) for p in (profile.contact.phone, profile.contact.phone_international)),
        profile.office_hours.time_zone_label, str(profile.office_hours.time_zone), profile.warehouse.city,
        *(region.carrier for region in profile.delivery.regions), profile.money.currency,
        CURRENCY_SIGNS[profile.money.currency], "Retrospot Gifts",
    }


def searched_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [p for p in listed if SEARCHED.search(p) and not NOT_SEARCHED.search(p) and (ROOT / p).is_file()]


def test_the_facts_are_the_demo_shops() -> None:
    facts = demo_facts()
    assert {"ShopDesk Demo Shop", "496 0000", "UK time", "Leeds", "Royal Mail", "DHL", "£", "GBP"} <= facts


def test_no_demo_shop_fact_outside_the_profile() -> None:
    patterns = {fact: re.compile(rf"(?<!\w){re.escape(fact)}(?!\w)" if fact[0].isalnum() else re.escape(fact))
                for fact in demo_facts()}
    found = []
    files = searched_files()
    assert "domain.yml" in files and "actions/contact.py" in files and "web/templates/base.html" in files
    for path in files:
        for number, line in enumerate((ROOT / path).read_text(errors="replace").splitlines(), start=1):
            for fact, pattern in patterns.items():
                if pattern.search(line) and fact not in ALLOWED.get(path, set()):
                    found.append(f"{path}:{number}: {fact!r} in {line.strip()[:100]}")
    assert not found, "shop facts belong in shop.yml (shop_profile):\n" + "\n".join(found)
