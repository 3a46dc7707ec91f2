"""actions.resilience: an order action whose store database is unreachable answers gracefully instead of crashing."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from actions.resilience import STORE_UNAVAILABLE, degrade_on_store_outage, unvalidated_slot_resets


def unreachable_store() -> None:
    with create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none").connect() as c:  # nothing listens on :1
        c.execute(text("SELECT 1"))


class Lookup(Action):
    def name(self) -> str:
        return "action_track_order"

    @degrade_on_store_outage
    def run(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        unreachable_store()
        return []


class Validate(Action):
    def name(self) -> str:
        return "validate_track_order_form"

    @degrade_on_store_outage
    async def run(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        unreachable_store()
        return []


def tracker(events: list[dict]) -> Tracker:
    return Tracker("s", {}, {"intent": {}, "entities": []}, events, False, None, {}, "action_listen")


def test_sync_action_answers_temporarily_unavailable_with_a_human_offer() -> None:
    dispatcher = CollectingDispatcher()
    assert Lookup().run(dispatcher, tracker([]), {}) == []
    [message] = dispatcher.messages
    assert message["text"] == STORE_UNAVAILABLE
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]


def test_form_validation_unsets_what_it_could_not_verify() -> None:
    events = [{"event": "slot", "name": "order_id", "value": "1"}, {"event": "user", "text": "a@b.c"},
              {"event": "slot", "name": "email", "value": "a@b.c"},
              {"event": "slot", "name": "requested_slot", "value": "email"}]
    dispatcher = CollectingDispatcher()
    result = asyncio.run(Validate().run(dispatcher, tracker(events), {}))
    assert [(e["name"], e["value"]) for e in result] == [("email", None)]
    assert dispatcher.messages[0]["text"] == STORE_UNAVAILABLE


def test_other_actions_keep_their_state() -> None:
    assert unvalidated_slot_resets("action_track_order", [{"event": "slot", "name": "email", "value": "x"}]) == []


def test_other_errors_are_not_swallowed() -> None:
    class Broken(Action):
        def name(self) -> str:
            return "action_broken"

        @degrade_on_store_outage
        def run(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):  # a bug must not be reported as an outage
        Broken().run(CollectingDispatcher(), tracker([]), {})
