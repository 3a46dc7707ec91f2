"""The handoff notices follow the shop's profile: its tone (shop.yml assistant.tone) and, with nobody online,
whether the team is out of its office hours (OfficeHours.is_open) or only busy now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.handoff import customer_notice, unreachable_notice
from console.handoffs import QueueStatus
from shop_profile import PROFILE_ENV
from tests.shop_profile.support import other_shop, write_profile

NOBODY = QueueStatus(position=1, agents_online=0, expected_wait=timedelta(minutes=3))
QUEUED = QueueStatus(position=2, agents_online=1, expected_wait=timedelta(minutes=3))
TUESDAY_NOON_LONDON = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_out_of_hours_the_customer_is_told_the_team_is_away_until_it_opens() -> None:
    closed = customer_notice(NOBODY, SUNDAY_NOON)
    assert "no one is online right now: they're out of office hours" in closed
    assert "Monday to Friday, 9:00 to 17:30" in closed
    open_now = customer_notice(NOBODY, TUESDAY_NOON_LONDON)
    assert "no one is online right now (they're available Monday to Friday" in open_now
    assert "busy or away at the moment" in open_now and "out of office hours" not in open_now


def test_a_formal_shop_hands_over_in_formal_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    friendly = customer_notice(QUEUED)
    assert friendly.startswith("I'm connecting you") and "You're number 2 in the queue" in friendly
    monkeypatch.setenv(PROFILE_ENV, str(write_profile(tmp_path, other_shop)))  # Berlin, formal, open on Saturdays
    assert customer_notice(QUEUED).startswith("I am connecting you") and "You are number 2" in customer_notice(QUEUED)
    saturday_in_berlin = customer_notice(NOBODY, datetime(2026, 12, 5, 11, 0, tzinfo=UTC))
    assert saturday_in_berlin.startswith("I have passed your message") and "out of office hours" not in \
        saturday_in_berlin and "hilfe@kiezladen.example" in saturday_in_berlin
    assert unreachable_notice().startswith("I apologise, I cannot reach our team")
