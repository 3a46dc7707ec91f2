"""The actions called directly as the action server calls them: payload shape, identity, no leaks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.recommendations import ActionProductInfo, ActionRecommendProducts
from recommender.service import BESTSELLER, POPULAR_NOW, RecommendationService
from store.tokens import issue_customer_token
from tests.recommender.conftest import SIGNING_KEY

LANTERN_BUYER, BAG_LOVER, CAKE_BAKER = 20001, 20002, 20005
CARD_KEYS = {"sku", "name", "price", "currency", "image_url", "reason", "buttons"}

POPULAR_REASONS = {POPULAR_NOW, BESTSELLER}


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch, store_engine) -> Iterator[None]:
    """The signing key, and the store database (actions check it for revoked conversations)."""
    import store.db

    monkeypatch.setenv("SHOPDESK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("SHOPDESK_DATABASE_URL", store_engine.url.render_as_string(hide_password=False))
    store.db.default_engine.cache_clear()
    yield
    store.db.default_engine().dispose()
    store.db.default_engine.cache_clear()


def tracker(text: str, intent: str, entities: list[dict[str, Any]] | None = None, customer: int | None = None,
            token: str | None = None) -> Tracker:
    metadata = {}
    if customer is not None:
        metadata["customer_token"] = issue_customer_token(customer, "conversation-1", SIGNING_KEY)
    if token is not None:
        metadata["customer_token"] = token
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or [],
               "metadata": metadata}
    return Tracker("conversation-1", {}, message, [], False, None, {}, "action_listen")


def entity(text: str, name: str, value: str) -> dict[str, Any]:
    start = text.index(value)
    return {"entity": name, "value": value, "start": start, "end": start + len(value)}


def run(action, conversation: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, conversation, {}))
    assert events == []
    json.dumps(dispatcher.messages)  # everything the action sends must travel as JSON
    return dispatcher.messages


def cards(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(messages) == 1, messages
    payload = messages[0]["custom"]
    assert payload["type"] == "product_carousel"
    return messages[0]["text"], payload


def test_verified_customer_gets_personal_cards_in_the_contract_shape(service: RecommendationService,
                                                                     purchases) -> None:
    text, payload = cards(run(ActionRecommendProducts(service),
                              tracker("what would you recommend?", "recommend_product", customer=LANTERN_BUYER)))
    assert "based on what you've bought" in text
    own = purchases(LANTERN_BUYER)
    assert 1 <= len(payload["products"]) <= 5
    fallback = payload["text"].splitlines()
    assert len(fallback) == len(payload["products"])
    for number, (card, line) in enumerate(zip(payload["products"], fallback, strict=True), start=1):
        assert set(card) == CARD_KEYS
        assert re.fullmatch(r"\d+\.\d{2}", card["price"]) and card["currency"] == "GBP"
        assert card["image_url"] == f"/products/{card['sku']}.svg"
        assert card["reason"].removeprefix("Because you bought ") in own
        assert card["buttons"] == [
            {"title": "More like this", "payload": f'/recommend_similar{{"product":"{card["sku"]}"}}'},
            {"title": "Tell me more", "payload": f'/product_info{{"product":"{card["sku"]}"}}'},
        ]
        assert line == f"{number}. {card['name']} — £{card['price']} (because you bought " \
                       f"{card['reason'].removeprefix('Because you bought ')})"


def test_unverified_customer_gets_non_personal_suggestions(service: RecommendationService) -> None:
    for conversation in (tracker("recommend something", "recommend_product"),
                         tracker("recommend something", "recommend_product", token="forged.token.value")):
        text, payload = cards(run(ActionRecommendProducts(service), conversation))
        assert "most popular" in text and "Sign in" in text
        assert all(card["reason"] in POPULAR_REASONS for card in payload["products"])


def test_no_customer_sees_another_customers_purchases(service: RecommendationService, purchases) -> None:
    shown: dict[int, set[str]] = {}
    for customer in (LANTERN_BUYER, BAG_LOVER, CAKE_BAKER):
        _text, payload = cards(run(ActionRecommendProducts(service),
                                   tracker("suggestions please", "recommend_product", customer=customer)))
        shown[customer] = {card["reason"].removeprefix("Because you bought ") for card in payload["products"]}
        assert shown[customer] <= purchases(customer)
    for customer, mentioned in shown.items():
        for other in shown:
            if other != customer:
                assert not mentioned & (purchases(other) - purchases(customer))


def test_more_like_this_button_payload_gives_similar_items(service: RecommendationService) -> None:
    text, payload = cards(run(ActionRecommendProducts(service), tracker(
        '/recommend_similar{"product":"71053"}', "recommend_similar", [{"entity": "product", "value": "71053"}])))
    assert text == "Here are a few products like White Metal Lantern:"
    assert "71053" not in {card["sku"] for card in payload["products"]}
    assert payload["products"][0]["reason"] == "Often bought with White Metal Lantern"


def test_something_like_the_lantern_i_bought(service: RecommendationService) -> None:
    message = "something like the lantern I bought"
    text, _payload = cards(run(ActionRecommendProducts(service), tracker(
        message, "recommend_similar", [entity(message, "product", "lantern")], customer=LANTERN_BUYER)))
    assert text == "Here are a few products like White Metal Lantern:"


def test_gift_under_a_price_limit(service: RecommendationService) -> None:
    message = "a christmas gift under £3 please"
    text, payload = cards(run(ActionRecommendProducts(service), tracker(
        message, "recommend_product", [entity(message, "occasion", "christmas"),
                                       entity(message, "price_limit", "£3")])))
    assert text == "Here are a few ideas for christmas under £3.00:"
    assert all(float(card["price"]) <= 3 for card in payload["products"])
    assert all(card["reason"] == "Matches 'christmas'" for card in payload["products"])


def test_over_a_price_is_a_minimum(service: RecommendationService) -> None:
    message = "something nice over £5"
    _text, payload = cards(run(ActionRecommendProducts(service), tracker(
        message, "recommend_product", [entity(message, "price_limit", "£5")])))
    assert payload["products"] and all(float(card["price"]) >= 5 for card in payload["products"])


def test_nothing_within_budget_is_a_clear_message(service: RecommendationService) -> None:
    message = "a cakestand under £0.10"
    messages = run(ActionRecommendProducts(service), tracker(
        message, "recommend_product", [entity(message, "product", "cakestand"),
                                       entity(message, "price_limit", "£0.10")]))
    assert messages == [{**messages[0], "text": "Sorry, I couldn't find anything in stock for “cakestand” under "
                                                 "£0.10 right now. Try a different budget or other words."}]
    assert "custom" not in messages[0] or not messages[0]["custom"]


def test_unknown_product_in_a_similar_request(service: RecommendationService) -> None:
    message = "something like my flux capacitor"
    messages = run(ActionRecommendProducts(service), tracker(
        message, "recommend_similar", [entity(message, "product", "flux capacitor")]))
    assert len(messages) == 1 and "couldn't find" in messages[0]["text"] and "flux capacitor" in messages[0]["text"]


def test_missing_model_still_answers_from_store_sales(modelless_service: RecommendationService) -> None:
    _text, payload = cards(run(ActionRecommendProducts(modelless_service),
                               tracker("recommend something", "recommend_product", customer=LANTERN_BUYER)))
    assert payload["products"] and all(card["reason"] in POPULAR_REASONS for card in payload["products"])


def test_a_failing_backend_is_an_apology_not_a_crash(service: RecommendationService,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(service, "popular", broken)
    messages = run(ActionRecommendProducts(service), tracker("recommend something", "recommend_product"))
    assert messages[0]["text"].startswith("Sorry, I can't look up suggestions")


def test_product_info_known_unknown_and_missing(service: RecommendationService) -> None:
    message = "tell me more about 85123A"
    messages = run(ActionProductInfo(service), tracker(message, "product_info",
                                                       [entity(message, "product", "85123A")]))
    assert messages[0]["text"].startswith("White Hanging Heart T-Light Holder (SKU 85123A) costs £2.95")
    assert messages[0]["buttons"] == [{"title": "More like this",
                                       "payload": '/recommend_similar{"product":"85123A"}'}]
    message = "how much is the <b>flux capacitor</b>"
    unknown = run(ActionProductInfo(service), tracker(message, "product_info",
                                                      [entity(message, "product", "<b>flux capacitor</b>")]))
    assert "couldn't find a product called “b flux capacitor b”" in unknown[0]["text"]
    assert "<b>" not in unknown[0]["text"]
    missing = run(ActionProductInfo(service), tracker("tell me about it", "product_info"))
    assert missing[0]["text"].startswith("Which product")
