"""The import summary warns about order numbers by the shop's own `order_numbers` (shop.yml): what the chat
can't look up at all, and what it only takes as the answer to "what's the order number?"."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop_profile import PROFILE_ENV
from tests.importers.conftest import FIXTURES, run_import
from tests.shop_profile.support import write_profile

SHOPIFY = ("shopify", "--orders", str(FIXTURES / "shopify_orders.csv"), "--skip-bad-rows")
GENERIC = ("generic", "--mapping", str(FIXTURES / "generic_mapping.toml"), "--orders",
           str(FIXTURES / "generic_simple.csv"))


def with_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: dict) -> None:
    """The demo profile with `section` as its order numbers, in a file of its own (each re-read afresh)."""
    name = f"shop-{section['examples'][0].strip('#')}.yml"
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, lambda data: data.update(order_numbers=section),
                                                      name=name)))


def test_with_the_demo_shops_numbers_short_and_lettered_numbers_are_warned_about(capsys, store_url) -> None:
    _, out = run_import(capsys, store_url, *SHOPIFY)
    assert "the chat won't pick out of a customer's message" in out and "1001" in out
    _, out = run_import(capsys, store_url, *GENERIC)
    assert "the order desk can't look up from the chat" in out and "order_numbers.pattern" in out


def test_a_shop_that_says_what_its_numbers_look_like_gets_no_warning(capsys, store_url, tmp_path,
                                                                      monkeypatch) -> None:
    with_numbers(tmp_path, monkeypatch, {"pattern": r"\d{4,6}", "examples": ["#1001"]})
    code, out = run_import(capsys, store_url, *SHOPIFY)
    assert code == 0 and "won't pick out" not in out and "can't look up" not in out
    with_numbers(tmp_path, monkeypatch, {"pattern": r"S-\d{4,6}", "examples": ["S-5001"]})
    code, out = run_import(capsys, store_url, *GENERIC)
    assert code == 0 and "won't pick out" not in out and "can't look up" not in out
