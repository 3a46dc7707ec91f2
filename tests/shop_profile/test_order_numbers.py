"""shop.yml `order_numbers`: what the shop's order numbers look like, checked before any message is read.

A shop owner's regular expression runs on every customer message, so one that could run away (unbounded or
nested repetition) or that can't work inside a message (anchors, look-arounds) is refused with the field and
the reason, like every other mistake in the file: in `python -m shop_profile check` and at start-up.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from shop_profile import ProfileError, load_profile
from shop_profile.order_numbers import OrderNumbers
from tests.shop_profile.support import ROOT, write_profile


def numbers(tmp_path: Path, section: dict) -> OrderNumbers:
    return load_profile(write_profile(tmp_path, lambda data: data.update(order_numbers=section))).order_numbers


def problems(tmp_path: Path, section: dict) -> list[str]:
    with pytest.raises(ProfileError) as raised:
        numbers(tmp_path, section)
    return raised.value.problems


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(\d+)+", "unbounded length"),
    (r"S-\d+", r"use counted repeats like \d{4,8}"),
    (r"(\d{1,3}){1,8}", "repeats a repetition"),
    (r"^\d{4}$", "must not use anchors"),
    (r"(?<=#)\d{4}", "look-arounds"),
    (r"S-(\d{4}", "is not a valid regular expression"),
    (r"\d{0,4}", "matches an empty text"),
    ("x" * 201, "longer than 200 characters"),
])
def test_an_unsafe_or_broken_pattern_is_refused_with_its_reason(tmp_path: Path, pattern: str, reason: str) -> None:
    found = problems(tmp_path, {"pattern": pattern})
    assert len(found) == 1 and found[0].startswith("order_numbers.pattern: ") and reason in found[0], found


def test_examples_must_be_the_shops_numbers_and_fields_are_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, {"pattern": r"S-\d{4}", "examples": ["5001"], "prefix": "#",
                                "in_text": r"\d+", "prefixes": ["# #"]})
    assert "order_numbers.examples: '5001' does not match pattern 'S-\\\\d{4}'" in found
    assert "order_numbers.prefix: unknown field (misspelt?)" in found
    assert any(p.startswith("order_numbers.in_text: '\\\\d+' matches numbers of unbounded length") for p in found)
    assert any(p.startswith("order_numbers.prefixes: '# #'") for p in found)
    assert problems(tmp_path, {"examples": ["S-5001"]}) == ["order_numbers.pattern: required"]


def test_the_check_command_names_a_bad_pattern(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, lambda data: data.update(order_numbers={"pattern": r"(\w+)*"}))
    done = subprocess.run([sys.executable, "-m", "shop_profile", "check", str(profile)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"invalid shop profile {profile}:" in done.stderr and "order_numbers.pattern: '(\\\\w+)*'" in done.stderr


def test_the_demo_shop_reads_numbers_as_before() -> None:
    demo = load_profile(ROOT / "shop.yml").order_numbers
    assert demo == OrderNumbers(examples=("536365", "C536365"))  # the defaults, written out in shop.yml
    assert demo.find("where is #581163 and c581164? call 07700 900123, paid £12.50, 5811633333") == \
        ["581163", "C581164", "07700", "900123"]
    assert demo.find("order 1001 please") == []  # 4 digits: only as the answer to "what's the order number?"
    assert [demo.normalize(t) for t in ("#1001", " order no. A1001 ", "S-5001", "order number 536365")] == \
        ["1001", "A1001", None, "536365"]


def test_a_shops_own_numbers_are_found_in_messages_and_normalised(tmp_path: Path) -> None:
    shop = numbers(tmp_path, {"pattern": r"(?:WC|SD)-?\d{4}-\d{5}", "prefixes": ["#", "No."],
                              "examples": ["WC-2024-00017"]})
    assert shop.find("hi, order wc-2024-00017 and No. SD-2025-00001, not 2024-00017 or xWC-2024-00017") == \
        ["WC-2024-00017", "SD-2025-00001"]
    assert shop.normalize("#WC-2024-00017") == "WC-2024-00017" and shop.normalize("536365") is None
    assert shop.looks_like() == "Order numbers look like WC-2024-00017."


def test_a_long_hostile_message_is_read_quickly(tmp_path: Path) -> None:
    shop = numbers(tmp_path, {"pattern": r"(?:S|SD)-\d{4,6}(?:-[A-Z]{1,3})?"})
    started = time.perf_counter()
    shop.find(("SD-1234-" * 300 + "S" * 2000 + "-1" * 1000)[:20000])
    assert time.perf_counter() - started < 1.0
