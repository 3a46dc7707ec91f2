"""shop.yml is read into typed values, and every kind of mistake stops with the field and the file named."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import shop_profile
from shop_profile import PROFILE_ENV, ProfileError, current_profile, load_profile, require_profile
from tests.shop_profile.support import ROOT, other_shop, write_profile


def test_the_demo_shop_profile_is_valid() -> None:
    profile = load_profile(ROOT / "shop.yml")
    assert profile.shop_name == "ShopDesk Demo Shop" and profile.assistant.tone == "friendly"
    assert profile.office_hours.time_zone == ZoneInfo("Europe/London")
    assert profile.money.currency == "GBP" and profile.returns.window_days == 30
    assert profile.home_region.carrier == "Royal Mail" and profile.is_domestic("Isle of Man")
    assert not profile.is_domestic("France") and profile.delivery.region_for("France").carrier == "DHL"
    assert profile.home_region.options[0].free_over == Decimal("30")


def test_office_hours_follow_the_time_zone(tmp_path: Path) -> None:
    london = load_profile(ROOT / "shop.yml").office_hours
    berlin = load_profile(write_profile(tmp_path, other_shop)).office_hours
    moment = datetime(2026, 12, 8, 17, 15, tzinfo=ZoneInfo("UTC"))  # a Tuesday: 17:15 in London, 18:15 in Berlin
    assert london.is_open(moment) and not berlin.is_open(moment)
    saturday = datetime(2026, 12, 12, 12, 0, tzinfo=ZoneInfo("UTC"))
    assert not london.is_open(saturday) and berlin.is_open(saturday)


def test_the_environment_names_another_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, other_shop)))
    assert current_profile().shop_name == "Kiezladen Berlin"
    monkeypatch.delenv(PROFILE_ENV)
    assert current_profile().shop_name == "ShopDesk Demo Shop"


def test_an_edit_takes_effect_and_a_broken_edit_keeps_the_last_good_profile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    path = write_profile(tmp_path)
    monkeypatch.setenv(PROFILE_ENV, str(path))
    assert current_profile().shop_name == "ShopDesk Demo Shop"
    write_profile(tmp_path, other_shop)
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert current_profile().shop_name == "Kiezladen Berlin"
    path.write_text(path.read_text().replace("time_zone: Europe/Berlin", "time_zone: Europe/Berlinn"))
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert current_profile().shop_name == "Kiezladen Berlin"
    assert "Europe/Berlinn" in caplog.text and "still using the profile read before" in caplog.text


def _set(path: str, value: Any):
    """A change that sets the field at dotted `path` ("delivery.regions.0.carrier"); None deletes it."""
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is None:
            del node[key]
        else:
            node[key] = value
    return change


@pytest.mark.parametrize(("field", "value", "message"), [
    ("shop.name", None, "shop.name: required"),
    ("shop.name", "  ", "shop.name: must not be empty"),
    ("assistant", None, "assistant: required"),
    ("assistant.tone", "sarcastic", "assistant.tone: expected one of friendly, formal, got 'sarcastic'"),
    ("contact.email", "support-at-shop", "contact.email: 'support-at-shop' is not valid"),
    ("contact.phone", ["0113"], "contact.phone: expected text, got a list"),
    ("office_hours.time_zone", "UK time", "office_hours.time_zone: unknown time zone 'UK time'"),
    ("office_hours.opens", 540, "office_hours.opens: expected a time like \"09:00\", got 540 (put times in quotes"),
    ("office_hours.closes", "08:00", "office_hours.closes: must be later than opens (09:00)"),
    ("office_hours.days", ["mon", "funday"], "office_hours.days: 'funday' is not one of mon"),
    ("money.currency", "pounds", "money.currency: 'pounds' is not valid (write it like GBP)"),
    ("money.locale", "english", "money.locale: 'english' is not valid (write it like en-GB)"),
    ("money.payment_methods", [], "money.payment_methods: expected a non-empty list"),
    ("returns.window_days", "thirty", "returns.window_days: expected a whole number from 0 to 365, got 'thirty'"),
    ("returns.window_days", True, "returns.window_days: expected a whole number"),
    ("returns.refund_business_days", [5, 3], "returns.refund_business_days: expected two whole numbers"),
    ("warehouse.country", "Atlantis", "warehouse.country: 'Atlantis' is in none of delivery.regions"),
    ("delivery.regions", [], "delivery.regions: expected a non-empty list"),
    ("delivery.regions.0.options.0.price", "cheap", "delivery.regions[0].options[0].price: expected an amount"),
    ("delivery.regions.0.options.0.price", -1, "delivery.regions[0].options[0].price: expected an amount of 0 or more"),
    ("delivery.regions.1.countries", ["France", "Isle of Man"],
     "delivery.regions[1].countries: 'Isle of Man' is already in region 'UK'"),
    ("delivery.regions.1.name", "UK", "delivery.regions[1].name: 'UK' is used by another region"),
    ("delivery.regions.0.po_boxes", "yes", "delivery.regions[0].po_boxes: expected true or false, got 'yes'"),
    ("delivery.regions.0.carier", "Royal Mail", "delivery.regions[0].carier: unknown field (misspelt?)"),
    ("returns.window", 30, "returns.window: unknown field (misspelt?)"),
])
def test_each_mistake_is_named_with_its_field_and_file(tmp_path: Path, field: str, value: Any, message: str) -> None:
    path = write_profile(tmp_path, _set(field, value))
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    text = str(raised.value)
    assert text.startswith(f"invalid shop profile {path}:") and message in text, text
    assert len(raised.value.problems) == 1, raised.value.problems  # one mistake, one line


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    def two(data: dict[str, Any]) -> None:
        _set("contact.email", "nope")(data)
        _set("office_hours.time_zone", "Mars/Olympus")(data)
    with pytest.raises(ProfileError) as raised:
        load_profile(write_profile(tmp_path, two))
    assert [p.split(":")[0] for p in raised.value.problems] == ["contact.email", "office_hours.time_zone"]


@pytest.mark.parametrize(("content", "message"), [
    ("", "the file is empty"),
    ("shop: [unclosed\n", "line 2, column 1: not valid YAML"),
    ("- just\n- a list\n", "the file: expected a mapping of fields, got a list"),
])
def test_an_unreadable_file_says_so(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "shop.yml"
    path.write_text(content)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=f"invalid shop profile {tmp_path / 'nope.yml'}:\n  - cannot read the file"):
        load_profile(tmp_path / "nope.yml")


def test_start_up_stops_with_the_problems_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, _set("money.currency", "£"))))
    with pytest.raises(SystemExit, match=r"(?s)action server: invalid shop profile .*money.currency: '£' is not valid"):
        require_profile("action server")


def test_the_check_command(tmp_path: Path) -> None:
    good = subprocess.run([sys.executable, "-m", "shop_profile", "check"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, PROFILE_ENV: str(write_profile(tmp_path, other_shop))})
    assert good.returncode == 0 and "valid shop profile for Kiezladen Berlin" in good.stdout
    assert "{office_hours}: Monday to Saturday, 10:00 to 18:00 Berlin time" in good.stdout
    bad = subprocess.run([sys.executable, "-m", "shop_profile", "check", str(write_profile(
        tmp_path, _set("contact", None), name="bad.yml"))], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "contact: required" in bad.stderr and "Traceback" not in bad.stderr


def test_the_package_needs_only_the_standard_library_and_yaml() -> None:
    """The Rasa server (Python 3.10, no pydantic 2) imports it: nothing else may creep in."""
    for module in Path(shop_profile.__file__).parent.glob("*.py"):
        imports = [line.split()[1].split(".")[0] for line in module.read_text().splitlines()
                   if line.startswith(("import ", "from "))]
        assert set(imports) <= {"__future__", "shop_profile", "yaml", *sys.stdlib_module_names}, module
