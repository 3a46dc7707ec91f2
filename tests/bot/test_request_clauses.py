"""Several requests in one message: where a message splits, and which clauses count as requests."""

from __future__ import annotations

import pytest

from bot.nlu.clauses import lead_with_a_clear_request, other_requests, split_requests


@pytest.mark.parametrize(("text", "clauses"), [
    ("cancel 581146 and what's your returns policy?", ["cancel 581146", "what's your returns policy?"]),
    ("Hi. Where is my order 581146? Also do you ship to Norway?",
     ["Where is my order 581146?", "Also do you ship to Norway?"]),
    ("track my order and also send me the invoice pls", ["track my order", "send me the invoice pls"]),
    ("where is my parcel and can i change the address", ["where is my parcel", "can i change the address"]),
])
def test_separate_requests_are_split(text: str, clauses: list[str]) -> None:
    assert split_requests(text) == clauses


@pytest.mark.parametrize("text", [
    "cancel order 581146 and 581150", "i want a black and white mug", "my email is a@b.com and the order is #581163",
    "ok thanks. bye", "hello", "/inform{\"order_id\":\"581146\"}", "",
])
def test_one_request_stays_whole(text: str) -> None:
    assert split_requests(text) == [text]


def request(intent: str, confidence: float, text: str = "clause") -> dict:
    return {"intent": intent, "confidence": confidence, "text": text}


def test_only_clear_requests_besides_the_main_one_are_kept() -> None:
    found = other_requests([request("cancel_order", 0.9, "cancel 581146"), request("check_refund_policy", 0.8),
                            request("greet", 0.99), request("delivery_options", 0.4),
                            request("check_refund_policy", 0.9, "again")], "cancel_order")
    assert found == [request("check_refund_policy", 0.8)]


def test_an_ambiguous_message_is_led_by_its_first_clear_request() -> None:
    ranking = [{"name": "nlu_fallback_like", "confidence": 0.3}, {"name": "track_order", "confidence": 0.2}]
    led = lead_with_a_clear_request(ranking, [request("greet", 0.99), request("track_order", 0.85)])
    assert led[0] == {"name": "track_order", "confidence": 0.85} and len(led) == 2
    confident = [{"name": "cancel_order", "confidence": 0.7}]
    assert lead_with_a_clear_request(confident, [request("track_order", 0.9)]) == confident


def test_a_person_or_a_task_leads_over_a_question() -> None:
    ranking = [{"name": "edit_account", "confidence": 0.9}]
    led = lead_with_a_clear_request(ranking, [request("contact_human_agent", 0.9), request("edit_account", 0.9)])
    assert led[0]["name"] == "contact_human_agent"
    ranking = [{"name": "check_refund_policy", "confidence": 0.8}]
    led = lead_with_a_clear_request(ranking, [request("cancel_order", 0.9), request("check_refund_policy", 0.8)])
    assert led[0]["name"] == "cancel_order"
