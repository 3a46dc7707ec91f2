"""Product suggestions in the conversation: product cards with reasons, and product details.

Personal suggestions only for a verified customer (actions.identity); everyone else gets suggestions that
use no personal data. Reasons name only the requesting customer's own purchases or the product asked
about. The model is loaded once per process and swapped when `python -m recommender.train` publishes a new
version; without one, answers come from the store's best sellers. Nothing here raises into Rasa.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import verified_customer_id
from actions.knowledge import MISSES_SLOT, answer_latest_message, reply_for
from recommender.parsing import clean_label, price_range
from recommender.service import Filters, Recommendations, RecommendationService, Suggestion
from shop_profile import current_profile
from shop_profile.wording import money

logger = logging.getLogger(__name__)

CARD_COUNT = 5
SORRY = "Sorry, I can't look up suggestions right now. Please try again in a moment."


@lru_cache(maxsize=1)
def recommendation_service() -> RecommendationService:
    return RecommendationService()


def _latest_entity(tracker: Tracker, name: str) -> dict[str, Any] | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and isinstance(entity.get("value"), str) and entity["value"].strip():
            return entity
    return None


def _price_words(tracker: Tracker) -> str | None:
    """The price entity with the words just before it, so 'over 20 quid' is a minimum, not a maximum."""
    entity = _latest_entity(tracker, "price_limit")
    if entity is None:
        return None
    message = (tracker.latest_message or {}).get("text") or ""
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(message):
        return message[max(0, start - 20):end]
    return entity["value"]


def price(amount: float | Decimal) -> str:
    """A catalogue price: products are priced in the shop's currency."""
    return money(amount, shop_currency())


def shop_currency() -> str:
    return current_profile().money.currency


def _budget_words(filters: Filters) -> str:
    if filters.min_price is not None and filters.max_price is not None:
        return f" between {price(filters.min_price)} and {price(filters.max_price)}"
    if filters.max_price is not None:
        return f" under {price(filters.max_price)}"
    if filters.min_price is not None:
        return f" over {price(filters.min_price)}"
    return ""


def button_payload(intent: str, sku: str) -> str:
    return f"/{intent}" + json.dumps({"product": sku}, separators=(",", ":"))


def product_card(item: Suggestion) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "name": item.name,
        "price": f"{item.price:.2f}",
        "currency": shop_currency(),
        "image_url": f"/products/{item.sku}.svg",
        "reason": item.reason,
        "buttons": [{"title": "More like this", "payload": button_payload("recommend_similar", item.sku)},
                    {"title": "Tell me more", "payload": button_payload("product_info", item.sku)}],
    }


def carousel(items: list[Suggestion]) -> dict[str, Any]:
    """The product-card payload of CONTRACTS.md, with its plain-text fallback for text-only channels."""
    lines = []
    for number, item in enumerate(items, start=1):
        reason = item.reason[:1].lower() + item.reason[1:]
        lines.append(f"{number}. {item.name} — {price(item.price)} ({reason})")
    return {"type": "product_carousel", "text": "\n".join(lines), "products": [product_card(i) for i in items]}


def _plan(service: RecommendationService, intent: str | None, customer: int | None, product: str | None,
          occasion: str | None, filters: Filters) -> tuple[Recommendations, str]:
    """Pick the request type from what the customer said; returns the result and the intro line."""
    budget = _budget_words(filters)
    if product:
        if intent == "recommend_similar" or service.product_by_code(product) is not None:
            result = service.similar(product, customer, CARD_COUNT, filters)
            if result.anchor is not None:
                return result, f"Here are a few products like {result.anchor.name}{budget}:"
            found = service.matching(product, occasion, customer, CARD_COUNT, filters)
            return found, (f"I couldn't find a product called “{result.unresolved}” in our shop, "
                           f"but these match your words{budget}:")
        found = service.matching(product, occasion, customer, CARD_COUNT, filters)
        return found, f"Here are a few ideas for “{clean_label(product)}”{budget}:"
    if occasion:
        found = service.matching(None, occasion, customer, CARD_COUNT, filters)
        return found, f"Here are a few ideas for {clean_label(occasion)}{budget}:"
    if customer is not None:
        found = service.personal(customer, CARD_COUNT, filters)
        if found.kind == "personal":
            return found, f"Here are a few ideas for you, based on what you've bought before{budget}:"
        return found, f"Here are some of our most popular products{budget}:"
    found = service.popular(CARD_COUNT, filters)
    return found, (f"Here are some of our most popular products{budget}. "
                   "Sign in or give me an order number and email to get suggestions based on your orders.")


def _nothing_found(filters: Filters, product: str | None, occasion: str | None) -> str:
    what = clean_label(product or occasion)
    about = f" for “{what}”" if what else ""
    return (f"Sorry, I couldn't find anything in stock{about}{_budget_words(filters)} right now. "
            "Try a different budget or other words.")


class ActionRecommendProducts(Action):
    """recommend_product / recommend_similar: product cards for this customer (or for anyone, if unknown)."""

    def __init__(self, service: RecommendationService | None = None) -> None:
        self._service = service

    def name(self) -> str:
        return "action_recommend_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer = verified_customer_id(tracker)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        product = (_latest_entity(tracker, "product") or {}).get("value")
        occasion = (_latest_entity(tracker, "occasion") or {}).get("value")
        low, high = price_range(_price_words(tracker))
        filters = Filters(min_price=low, max_price=high)
        service = self._service or recommendation_service()
        try:
            # Off the event loop: the first request loads the model and the encoder (seconds).
            result, intro = await asyncio.to_thread(_plan, service, intent, customer, product, occasion, filters)
        except Exception:  # the conversation must go on whatever the model or database does
            logger.exception("recommendation failed")
            dispatcher.utter_message(text=SORRY)
            return []
        if not result.items:
            dispatcher.utter_message(text=_nothing_found(filters, product, occasion))
            return []
        dispatcher.utter_message(text=intro, json_message=carousel(result.items))
        return []


_ASKING_FOR_A_PRODUCT = re.compile(
    r"^\W*(?:hi\W+|hello\W+)?(?:do|does|did)\s+(?:you|u|ya)\s+(?:guys\s+)?(?:have|sell|stock|carry|do|make)\s+"
    r"(?:any\s+|some\s+|a\s+|an\s+)?(?P<what>[\w' -]{3,60}?)\W*$", re.IGNORECASE)


def product_words(text: str) -> str | None:
    """"do you have candles" -> "candles": the product a customer names without the NLU tagging it."""
    match = _ASKING_FOR_A_PRODUCT.match(text)
    return match.group("what").strip() if match else None


class ActionProductInfo(Action):
    """product_info: name, price, stock and a short description of one product, by name or code."""

    def __init__(self, service: RecommendationService | None = None) -> None:
        self._service = service

    def name(self) -> str:
        return "action_product_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        product = (_latest_entity(tracker, "product") or {}).get("value")
        if not product:
            # "do you offer gift wrapping?" reads like a product question but is a policy one: the shop's
            # documents answer it when they can; "do you have candles" names the product in its own words;
            # otherwise ask which product is meant.
            answer = await answer_latest_message(tracker)
            if answer.found:
                message, misses = reply_for(answer, 0)
                dispatcher.utter_message(**message)
                return [SlotSet(MISSES_SLOT, float(misses))]
            product = product_words(str((tracker.latest_message or {}).get("text") or ""))
        if not product:
            dispatcher.utter_message(text="Which product would you like to know about? "
                                          "Tell me its name or its product code (for example 85123A).")
            return []
        service = self._service or recommendation_service()
        try:
            info = await asyncio.to_thread(service.product_info, product, verified_customer_id(tracker))
        except Exception:
            logger.exception("product info failed")
            dispatcher.utter_message(text=SORRY)
            return []
        if info is None:
            dispatcher.utter_message(text=f"I couldn't find a product called “{clean_label(product) or 'that'}” in "
                                          "our shop. Could you check the name, or give me its product code "
                                          "(for example 85123A)?")
            return []
        sku = info.product.sku
        dispatcher.utter_message(text=info.description, buttons=[
            {"title": "More like this", "payload": button_payload("recommend_similar", sku)}])
        return []
