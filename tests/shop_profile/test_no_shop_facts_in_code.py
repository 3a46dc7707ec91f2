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
from pathlib import Path

from sqlalchemy import text

from shop_profile import load_profile
from shop_profile.wording import CURRENCY_SIGNS, response_values
from store.db import make_engine
from store.migrate import upgrade_database
from tests.shop_profile.support import ROOT

SEARCHED = re.compile(r"\.(py|ya?ml|html|js|css|json|toml|cfg|ini|sh|txt)$|(^|/)Makefile$")
NOT_SEARCHED = re.compile(r"^(tests|docs|knowledge/docs|training_data|bench)/|^shop\.yml$|\.md$")
CURRENCY_WORDS = {"actions/message_parsing.py", "shop_profile/order_numbers.py", "recommender/parsing.py",
                  "knowledge/chunking.py",
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


def test_canned_replies_seeded_by_the_migrations_name_the_shop_only_through_placeholders(tmp_path: Path) -> None:
    """The migrations' canned texts as a migrated store holds them (0003 seeded some with the demo's words;
    0009 rewrote those): no demo fact, not the platform's name as the shop's, only the profile's placeholders."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_database(engine)
    with engine.connect() as connection:
        canned = dict(connection.execute(text("SELECT title, text FROM canned_replies")).all())
    engine.dispose()
    assert canned["Greeting"].startswith("Hi, this is the {shop_name} customer service team.")
    values = response_values(load_profile(ROOT / "shop.yml"))
    for title, reply in canned.items():
        assert not re.search(r"\bShopDesk\b", reply), title
        assert not [fact for fact in demo_facts() if fact in reply], title
        assert not re.search(r"\d+\s*[–-]\s*\d+ business days", reply), title  # refund days: {refund_time}
        assert set(re.findall(r"\{(\w+)\}", reply)) <= set(values), title


def test_the_console_shows_canned_replies_in_the_profiles_words(tmp_path: Path, monkeypatch) -> None:
    """console.operations.canned_replies (what the conversation page and /api/canned list) fills the
    placeholders from the running profile; braces an agent wrote that are no placeholder stay as written."""
    from sqlalchemy.orm import sessionmaker

    from console.models import CannedReply
    from console.operations import canned_replies
    from shop_profile import PROFILE_ENV
    from tests.shop_profile.support import other_shop, write_profile

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_database(engine)
    sessions = sessionmaker(engine)
    with sessions.begin() as s:
        s.add(CannedReply(title="Own", text="Write to {support_email} {or not}"))
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, other_shop)))
    shown = {c["title"]: c["text"] for c in canned_replies(type("Svc", (), {"sessions": sessions})())}
    engine.dispose()
    assert shown["Greeting"].startswith("Hi, this is the Kiezladen Berlin customer service team.")
    assert shown["Refund timing"].endswith("within 2 to 4 business days.")
    assert shown["Own"] == "Write to hilfe@kiezladen.example {or not}"


def test_a_canned_reply_the_shop_edited_is_not_rewritten(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_database(engine, "0006")
    with engine.begin() as connection:
        connection.execute(text("UPDATE canned_replies SET text = 'Hello from Acme.' WHERE title = 'Greeting'"))
    upgrade_database(engine)
    with engine.connect() as connection:
        canned = dict(connection.execute(text("SELECT title, text FROM canned_replies")).all())
    engine.dispose()
    assert canned["Greeting"] == "Hello from Acme." and "{refund_time}" in canned["Refund timing"]
