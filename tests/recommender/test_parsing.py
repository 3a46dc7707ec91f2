from __future__ import annotations

from decimal import Decimal

import pytest

from recommender.parsing import clean_label, price_range


@pytest.mark.parametrize(("text", "expected"), [
    ("under £20", (None, Decimal("20"))),
    ("£12.50", (None, Decimal("12.50"))),
    ("less than 15 quid", (None, Decimal("15"))),
    ("over £20", (Decimal("20"), None)),
    ("at least 5 pounds", (Decimal("5"), None)),
    ("between £5 and £10", (Decimal("5"), Decimal("10"))),
    ("£10-£5", (Decimal("5"), Decimal("10"))),
    ("twenty pounds", (None, Decimal("20"))),
    ("nothing over £30", (None, Decimal("30"))),
    ("no more than 12 pounds", (None, Decimal("12"))),
    ("under a tenner", (None, Decimal("10"))),
    ("a fiver", (None, Decimal("5"))),
    ("cheap", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_price_range(text, expected) -> None:
    assert price_range(text) == expected


def test_clean_label_keeps_words_only() -> None:
    assert clean_label("<b>Gift</b> for mum!") == "b gift b for mum"
    assert clean_label("<script>") == "script"
    assert clean_label("") is None and clean_label("!!!") is None
    assert len(clean_label("word " * 50)) <= 40
