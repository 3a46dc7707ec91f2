"""Each request type through the service: live filters, reasons, cold start, unknown products, no model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recommender.service import BESTSELLER, POPULAR_NOW, Filters, RecommendationService
from tests.recommender.conftest import NEW_PRODUCT_SKU, SOLD_OUT_SKU

BAG_LOVER, LANTERN_BUYER, CHRISTMAS_BUYER, ONLY_CANCELLED = 20002, 20001, 20004, 20014

POPULAR_REASONS = {POPULAR_NOW, BESTSELLER}


def test_personal_top_n_excludes_purchases_and_explains_with_own_purchases(service, purchases) -> None:
    result = service.personal(LANTERN_BUYER, n=5)
    own = purchases(LANTERN_BUYER)
    assert result.kind == "personal" and len(result.items) == 5
    assert not {item.name for item in result.items} & own
    for item in result.items:
        assert item.reason.startswith("Because you bought ")
        assert item.reason.removeprefix("Because you bought ") in own
    # bags and lanterns go together in this shop: the bag and lantern this customer lacks come first
    top = {item.name for item in result.items[:3]}
    assert "Red Retrospot Charlotte Bag" in top


def test_similar_to_a_sku_prefers_what_is_bought_together(service) -> None:
    result = service.similar("71053")
    assert result.anchor is not None and result.anchor.name == "White Metal Lantern"
    names = [item.name for item in result.items]
    assert "Antique Silver Lantern" in names[:3]
    assert "White Metal Lantern" not in names
    assert result.items[0].reason == "Often bought with White Metal Lantern"


def test_similar_to_a_past_purchase_named_loosely(service) -> None:
    result = service.similar("the lantern I bought", customer_id=LANTERN_BUYER)
    assert result.anchor is not None and result.anchor.sku == "71053"


def test_similar_by_name_without_a_customer(service) -> None:
    result = service.similar("regency cakestand")
    assert result.anchor is not None and result.anchor.sku == "22423"
    assert {"Set Of 3 Cake Tins Pantry Design", "60 Teatime Fairy Cake Cases"} & {i.name for i in result.items}


def test_free_text_need_matches_words_and_meaning(service) -> None:
    result = service.matching(None, "christmas")
    names = [item.name for item in result.items]
    assert names and all("Christmas" in name for name in names[:3])
    assert all(item.reason == "Matches 'christmas'" for item in result.items)


def test_price_range_filter_uses_live_prices(service) -> None:
    result = service.matching("party", None, filters=Filters(max_price=Decimal("1.00")))
    assert result.items and all(item.price <= Decimal("1.00") for item in result.items)
    result = service.popular(10, Filters(min_price=Decimal("4.00"), max_price=Decimal("9.00")))
    assert result.items and all(Decimal("4.00") <= item.price <= Decimal("9.00") for item in result.items)


def test_exclude_already_bought_is_a_filter(service, purchases) -> None:
    own = purchases(CHRISTMAS_BUYER)
    excluded = service.matching(None, "christmas", customer_id=CHRISTMAS_BUYER)
    assert not {item.name for item in excluded.items} & own
    included = service.matching(None, "christmas", customer_id=CHRISTMAS_BUYER,
                                filters=Filters(exclude_bought=False))
    assert {item.name for item in included.items} & own


def test_out_of_stock_products_are_never_suggested(service) -> None:
    for result in (service.popular(30), service.matching("chilli lights"), service.similar("47566", n=30)):
        assert SOLD_OUT_SKU not in {item.sku for item in result.items}
    shown = service.matching("chilli lights", filters=Filters(in_stock=False))
    assert SOLD_OUT_SKU in {item.sku for item in shown.items}


def test_frequently_bought_together(service) -> None:
    result = service.together(["85099B"])
    names = {item.name for item in result.items}
    assert {"Red Retrospot Charlotte Bag", "Lunch Bag Red Retrospot"} <= names
    assert all(item.reason == "Often bought with Jumbo Bag Red Retrospot" for item in result.items)


def test_bought_together_for_an_order_only_for_its_owner(service, order_numbers) -> None:
    number = order_numbers(BAG_LOVER)[0]
    assert service.together_for_order(number, BAG_LOVER) is not None
    assert service.together_for_order(f"#{number}", BAG_LOVER) is not None  # as customers write it (issue 22)
    assert service.together_for_order(f" order {number} ", BAG_LOVER) is not None
    assert service.together_for_order(number, LANTERN_BUYER) is None


@pytest.mark.parametrize("customer", [None, ONLY_CANCELLED, 99999])
def test_cold_start_and_empty_history_get_popular_items(service, customer) -> None:
    result = service.personal(customer, n=4)
    assert result.kind == "popular" and len(result.items) == 4
    assert all(item.reason in POPULAR_REASONS for item in result.items)


def test_new_product_is_reachable_through_its_text(service) -> None:
    result = service.matching("fox night light")
    assert result.items[0].sku == NEW_PRODUCT_SKU
    assert service.product_info("woodland fox night light").product.sku == NEW_PRODUCT_SKU


@pytest.mark.parametrize("reference", ["flux capacitor", "", "   ", "x" * 500, "99999", None, "the the the"])
def test_unknown_products_resolve_to_nothing(service, reference) -> None:
    assert service.resolve_product(reference) is None
    assert service.product_info(reference) is None
    assert service.similar(reference or "").items == []


def test_product_info_has_price_stock_and_a_description(service) -> None:
    info = service.product_info("85123a")
    assert info is not None and info.product.name == "White Hanging Heart T-Light Holder"
    assert "£2.95" in info.description and "in stock" in info.description
    sold_out = service.product_info(SOLD_OUT_SKU)
    assert sold_out is not None and "out of stock" in sold_out.description


def test_without_a_model_everything_falls_back_to_store_sales(modelless_service: RecommendationService) -> None:
    popular = modelless_service.personal(LANTERN_BUYER, n=3)
    assert popular.kind == "popular" and len(popular.items) == 3
    assert all(item.reason == POPULAR_NOW for item in popular.items)
    assert modelless_service.matching("lantern").items
    similar = modelless_service.similar("71053").items
    assert similar and "71053" not in {item.sku for item in similar}
    assert modelless_service.product_info("jumbo bag").product.sku == "85099B"
    assert modelless_service.together(["85099B"]).items == []


def test_product_added_after_training_is_reachable_at_once(trained_root, tmp_path) -> None:
    from sqlalchemy.orm import Session

    from recommender.artifact import ModelHolder
    from store.models import Product
    from tests.recommender.conftest import build_store

    engine = build_store(tmp_path / "shop.db")
    service = RecommendationService(engine, ModelHolder(trained_root))
    assert "99902" not in {item.sku for item in service.matching("galaxy star projector").items}
    with Session(engine) as session, session.begin():
        session.add(Product(sku="99902", name="Galaxy Star Night Projector", unit_price=Decimal("14.00"), stock=5))
    service._extended = None  # as if CATALOGUE_CHECK_S had passed
    assert service.matching("galaxy star projector").items[0].sku == "99902"
    assert service.resolve_product("galaxy projector").sku == "99902"
    similar = service.similar("99902")
    assert similar.anchor.sku == "99902" and similar.items
    assert all(item.reason == "Similar to Galaxy Star Night Projector" for item in similar.items)
    engine.dispose()
