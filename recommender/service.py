"""Recommendation requests as the shop serves them: the model's scores, live store data, filters, reasons.

The model knows the catalogue as it was at training time; prices, stock and the customer's own purchases
are read live from the store, so a new order or a sold-out product counts at once. Reasons only ever
name the requesting customer's own purchases or the product they asked about: another customer's data
never appears. Without a trained model everything still answers, from the store's sales (popular items).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from recommender import text
from recommender.artifact import LoadedModel, ModelHolder
from recommender.data import EXCLUDED_STATUSES, customer_purchases
from recommender.parsing import clean_label
from shop_profile import current_profile
from shop_profile.wording import money
from store.db import default_engine
from store.models import Customer, Order, OrderLine, Product
from store.verification import normalize_order_number

DEFAULT_COUNT = 5
CANDIDATE_FACTOR = 8      # score this many times more candidates than asked for, then filter live
POPULAR_WINDOW_DAYS = 90  # fallback popularity (no model): sales in the last quarter
RESOLVE_MIN_SIMILARITY = 0.55
CATALOGUE_CHECK_S = 30.0  # how often to look for products added since training
POPULAR_NOW = "Popular right now"
BESTSELLER = "One of our bestsellers"
# Matched against stripped text: two adjacent `\s*` around an optional "#" backtrack quadratically on spaces.
_SKU = re.compile(r"#?\s*([A-Za-z0-9]{3,12})")


@dataclass(frozen=True)
class Filters:
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = True
    exclude_bought: bool = True


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    price: Decimal
    stock: int
    reason: str


@dataclass(frozen=True)
class ProductRef:
    sku: str
    name: str
    price: Decimal
    stock: int


@dataclass
class Recommendations:
    kind: str                       # personal | similar | matching | together | popular
    items: list[Suggestion] = field(default_factory=list)
    anchor: ProductRef | None = None   # the product a 'similar' request was about
    unresolved: str | None = None      # the product words we could not find in the catalogue


@dataclass(frozen=True)
class ProductInfo:
    product: ProductRef
    description: str


@dataclass(frozen=True)
class _Live:
    name: str
    price: Decimal
    stock: int


class RecommendationService:
    """One per process (the action server holds one); cheap per request: a few indexed queries + numpy."""

    def __init__(self, engine: Engine | None = None, holder: ModelHolder | None = None) -> None:
        self.engine = engine or default_engine()
        self.holder = holder or ModelHolder()
        # (version, checked at, model extended with new products, catalogue stamp)
        self._extended: tuple[str, float, LoadedModel, tuple[object, ...]] | None = None

    # ---- requests ------------------------------------------------------------------------------------
    def personal(self, customer_id: int | None, n: int = DEFAULT_COUNT, filters: Filters = Filters()
                 ) -> Recommendations:
        """Top-N for a verified customer: what their purchases suggest; popular items when there are none."""
        loaded = self._model()
        history = self._history(customer_id)
        if loaded is None or not history:
            return self.popular(n, filters, customer_id)
        model = loaded.model
        items, weights = self._history_vector(loaded, history)
        if len(items) == 0:
            return self.popular(n, filters, customer_id)
        scores = model.personal_scores(items, weights)
        bought = {sku for sku, _ in history}

        def reason(index: int) -> str:
            return f"Because you bought {model.names[model.because(items, weights, index)]}"

        return Recommendations("personal", self._pick(loaded, scores, n, filters, bought, reason))

    def popular(self, n: int = DEFAULT_COUNT, filters: Filters = Filters(), customer_id: int | None = None
                ) -> Recommendations:
        """Popular right now, leaning to the verified customer's country; from store sales without a model."""
        loaded = self._model()
        bought = {sku for sku, _ in self._history(customer_id)} if filters.exclude_bought else set()
        if loaded is None:
            return Recommendations("popular", self._popular_from_store(n, filters, bought))
        model = loaded.model
        scores = model.popularity(self._country(customer_id)).astype(np.float32)
        reason = POPULAR_NOW if model.params.popular_half_life_days < 365 else BESTSELLER
        return Recommendations("popular", self._pick(loaded, scores, n, filters, bought, lambda _i: reason))

    def similar(self, product: str, customer_id: int | None = None, n: int = DEFAULT_COUNT,
                filters: Filters = Filters()) -> Recommendations:
        """Items like a named product (sku, name words, or one of the customer's own past purchases)."""
        anchor = self.resolve_product(product, customer_id)
        if anchor is None:
            return Recommendations("similar", unresolved=clean_label(product) or "that")
        loaded = self._model()
        bought = {sku for sku, _ in self._history(customer_id)} if filters.exclude_bought else set()
        bought.add(anchor.sku)
        if loaded is None or anchor.sku not in loaded.model.index:
            found = self.matching(anchor.name, None, customer_id, n + 1, filters)
            items = [item for item in found.items if item.sku != anchor.sku][:n]
            return Recommendations("similar", items, anchor=anchor)
        model = loaded.model
        target = model.index[anchor.sku]
        scores = model.similar_scores(target)
        together = np.asarray(model.basket[target].toarray()).ravel()

        def reason(index: int) -> str:
            return f"Often bought with {anchor.name}" if together[index] > 0 else f"Similar to {anchor.name}"

        return Recommendations("similar", self._pick(loaded, scores, n, filters, bought, reason), anchor=anchor)

    def matching(self, need: str | None, occasion: str | None = None, customer_id: int | None = None,
                 n: int = DEFAULT_COUNT, filters: Filters = Filters()) -> Recommendations:
        """Items whose names match a free-text need or occasion; a known customer's taste orders the matches."""
        query = text.query_text(need, occasion)
        label = clean_label(occasion or need) or "your request"
        if not query:
            return self.popular(n, filters, customer_id)
        loaded = self._model()
        history = self._history(customer_id)
        bought = {sku for sku, _ in history} if filters.exclude_bought else set()
        if loaded is None:
            return Recommendations("matching", self._match_in_store(query, label, n, filters, bought))
        model = loaded.model
        query_words = text.words(query)
        scores = model.text_scores(_query_vector(query), query_words)
        relevant = scores >= model.params.text_min_score
        if history:
            items, weights = self._history_vector(loaded, history)
            if len(items):
                taste = model.personal_scores(items, weights)
                scores = scores + model.params.personal_text_weight * taste / max(float(np.max(taste)), 1e-6)
        scores = np.where(relevant, scores, -np.inf).astype(np.float32)
        return Recommendations("matching", self._pick(loaded, scores, n, filters, bought,
                                                      lambda _i: f"Matches '{label}'"))

    def together(self, skus: list[str], n: int = DEFAULT_COUNT, filters: Filters = Filters(),
                 customer_id: int | None = None) -> Recommendations:
        """Frequently bought together with a basket of products (same-order co-occurrence)."""
        loaded = self._model()
        if loaded is None:
            return Recommendations("together")
        model = loaded.model
        basket = [model.index[s] for s in skus if s in model.index]
        if not basket:
            return Recommendations("together")
        scores, evidence = model.together_scores(basket)
        scores = np.where(scores > 0, scores, -np.inf).astype(np.float32)
        bought = {sku for sku, _ in self._history(customer_id)} if filters.exclude_bought else set()
        bought.update(skus)
        return Recommendations("together", self._pick(
            loaded, scores, n, filters, bought, lambda i: f"Often bought with {model.names[int(evidence[i])]}"))

    def together_for_order(self, order_number: str, customer_id: int, n: int = DEFAULT_COUNT,
                           filters: Filters = Filters()) -> Recommendations | None:
        """FBT for one of the customer's own orders; None when it is not theirs (same as not existing)."""
        number = normalize_order_number(order_number)  # the shop's own form: '#536365', 'order S-5001'
        if number is None:
            return None
        with Session(self.engine) as session:
            skus = session.scalars(
                select(Product.sku).join(OrderLine, OrderLine.product_id == Product.id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.number == number, Order.customer_id == customer_id)
            ).all()
        if not skus:
            return None
        return self.together(list(skus), n, filters, customer_id)

    def product_by_code(self, reference: str | None) -> ProductRef | None:
        """The product whose sku the text is ('85123A', '#20724'), else None."""
        if not reference or not isinstance(reference, str):
            return None
        sku_match = _SKU.fullmatch(reference.strip())
        return self._product_by_sku(sku_match.group(1).upper()) if sku_match else None

    def resolve_product(self, reference: str | None, customer_id: int | None = None) -> ProductRef | None:
        """A product from a sku, or from name words — the customer's own purchases first ('the lantern I bought')."""
        if not reference or not isinstance(reference, str) or len(reference) > 200:
            return None
        found = self.product_by_code(reference)
        if found:
            return found
        wanted = set(text.words(reference))
        if not wanted:
            return None
        history = self._history(customer_id)
        if history:
            names = self._live([sku for sku, _ in history])
            best: tuple[float, str] | None = None
            for sku, _when in history:  # newest first: ties go to the latest purchase
                live = names.get(sku)
                if live is None:
                    continue
                overlap = len(wanted & set(text.words(live.name))) / len(wanted)
                if overlap > 0 and (best is None or overlap > best[0] + 1e-9):
                    best = (overlap, sku)
            if best is not None and best[0] >= 0.5:
                return self._product_by_sku(best[1])
        return self._resolve_in_catalogue(reference, wanted)

    def product_info(self, reference: str | None, customer_id: int | None = None) -> ProductInfo | None:
        product = self.resolve_product(reference, customer_id)
        if product is None:
            return None
        parts = [f"{product.name} (SKU {product.sku}) costs {money(product.price, current_profile().money.currency)}",
                 f"and is in stock ({product.stock} available)." if product.stock > 0 else
                 "but is out of stock at the moment."]
        loaded = self._model()
        if loaded is not None and product.sku in loaded.model.index:
            model = loaded.model
            row = np.asarray(model.basket[model.index[product.sku]].toarray()).ravel()
            if row.max(initial=0) > 0:
                partner = model.names[int(np.argmax(row))]
                parts.append(f"Customers often buy it with {partner}.")
        return ProductInfo(product, " ".join(parts))

    # ---- helpers ---------------------------------------------------------------------------------------
    def _model(self) -> LoadedModel | None:
        """The served model, extended with products added to the store since it was trained."""
        loaded = self.holder.get()
        if loaded is None:
            return None
        now = time.monotonic()
        cached = self._extended
        if cached is not None and cached[0] == loaded.version and now - cached[1] < CATALOGUE_CHECK_S:
            return cached[2]
        with Session(self.engine) as session:
            stamp = tuple(session.execute(select(func.count(Product.id), func.max(Product.id))).one())
        if cached is not None and cached[0] == loaded.version and cached[3] == stamp:
            self._extended = (loaded.version, now, cached[2], stamp)
            return cached[2]
        model = loaded.model
        with Session(self.engine) as session:
            rows = [row for row in session.execute(select(Product.sku, Product.name, Product.unit_price)
                                                   .order_by(Product.id)) if row.sku not in model.index]
        if rows:
            names = [row.name for row in rows]
            model = model.with_products([row.sku for row in rows], names,
                                        np.asarray([float(row.unit_price) for row in rows]), text.encode(names))
        extended = LoadedModel(loaded.version, model, loaded.manifest)
        self._extended = (loaded.version, now, extended, stamp)
        return extended

    def _pick(self, loaded: LoadedModel, scores: np.ndarray, n: int, filters: Filters, bought: set[str],
              reason: Callable[[int], str]) -> list[Suggestion]:
        """Best-scoring products that pass the filters with live price and stock, at most n."""
        model = loaded.model
        scores = np.array(scores, dtype=np.float32, copy=True)
        # Cheap pre-filter on training-time prices; the live check below is the one that counts.
        if filters.max_price is not None:
            scores[model.prices > float(filters.max_price) * 1.5 + 0.01] = -np.inf
        if filters.min_price is not None:
            scores[model.prices < float(filters.min_price) / 1.5 - 0.01] = -np.inf
        for sku in bought:
            index = model.index.get(sku)
            if index is not None:
                scores[index] = -np.inf
        picked: list[Suggestion] = []
        budget = min(model.size, max(n * CANDIDATE_FACTOR, 20))
        tried = 0
        while len(picked) < n and tried < model.size:
            window = min(budget, model.size - tried)
            order = np.argsort(-scores, kind="stable")[tried:tried + window]
            order = [int(i) for i in order if np.isfinite(scores[i])]
            if not order:
                break
            live = self._live([model.skus[i] for i in order])
            for index in order:
                item = live.get(model.skus[index])
                if item is not None and _passes(item, filters):
                    picked.append(Suggestion(model.skus[index], item.name, item.price, item.stock, reason(index)))
                    if len(picked) == n:
                        break
            tried += window
            budget *= 4
        return picked

    def _history(self, customer_id: int | None) -> list[tuple[str, datetime]]:
        if customer_id is None:
            return []
        return customer_purchases(self.engine, customer_id)

    @staticmethod
    def _history_vector(loaded: LoadedModel, history: list[tuple[str, datetime]]) -> tuple[np.ndarray, np.ndarray]:
        model = loaded.model
        known = [(model.index[sku], when) for sku, when in history if sku in model.index]
        return model.history_weights([i for i, _ in known], [w for _, w in known])

    def _country(self, customer_id: int | None) -> str | None:
        if customer_id is None:
            return None
        with Session(self.engine) as session:
            return session.scalar(select(Customer.country).where(Customer.id == customer_id))

    def _live(self, skus: list[str]) -> dict[str, _Live]:
        if not skus:
            return {}
        with Session(self.engine) as session:
            rows = session.execute(select(Product.sku, Product.name, Product.unit_price, Product.stock)
                                   .where(Product.sku.in_(skus)))
            return {sku: _Live(name, Decimal(price), int(stock)) for sku, name, price, stock in rows}

    def _product_by_sku(self, sku: str) -> ProductRef | None:
        live = self._live([sku]).get(sku)
        return ProductRef(sku, live.name, live.price, live.stock) if live else None

    def _resolve_in_catalogue(self, reference: str, wanted: set[str]) -> ProductRef | None:
        """Best catalogue name: all words present beats meaning; meaning alone must be close."""
        loaded = self._model()
        if loaded is None:
            matches = self._name_search(sorted(wanted), 1)
            return self._product_by_sku(matches[0]) if matches else None
        model = loaded.model
        words = sorted(wanted)
        similarity = model.embeddings @ _query_vector(reference)
        coverage = np.zeros(model.size, dtype=np.float32)
        for word in words:
            posting = model.word_index.get(word)
            if posting is not None:
                coverage[posting] += 1.0 / len(words)
        score = coverage + 0.5 * similarity
        best = int(np.argmax(score))
        if coverage[best] < 0.99 and similarity[best] < RESOLVE_MIN_SIMILARITY:
            return None
        return self._product_by_sku(model.skus[best])

    def _name_search(self, words: list[str], limit: int) -> list[str]:
        """No model: names containing the words, most words matched first (the model's word match, in SQL)."""
        words = words[:6]
        if not words:
            return []
        with Session(self.engine) as session:
            conditions = [Product.name.ilike(f"%{w}%") for w in words]
            rows = session.execute(select(Product.sku, Product.name).where(or_(*conditions))
                                   .order_by(Product.sku).limit(500)).all()
        ranked = sorted(rows, key=lambda row: -sum(w in row.name.lower() for w in words))
        return [row.sku for row in ranked[:limit]]

    @staticmethod
    def _store_sales(since: datetime | None):  # type: ignore[no-untyped-def]
        buyers = func.count(func.distinct(Order.customer_id)).label("buyers")
        query = (select(Product.sku, Product.name, Product.unit_price, Product.stock, buyers)
                 .join(OrderLine, OrderLine.product_id == Product.id).join(Order, Order.id == OrderLine.order_id)
                 .where(Order.status.not_in(EXCLUDED_STATUSES)))
        if since is not None:
            query = query.where(Order.placed_at >= since)
        return query.group_by(Product.id).order_by(buyers.desc(), Product.sku)

    def _popular_from_store(self, n: int, filters: Filters, bought: set[str]) -> list[Suggestion]:
        """No model: the best sellers of the last quarter (all time if the quarter is empty)."""
        with Session(self.engine) as session:
            latest = session.scalar(select(func.max(Order.placed_at)))
            since = latest - timedelta(days=POPULAR_WINDOW_DAYS) if latest else None
            rows = session.execute(self._store_sales(since).limit(n * CANDIDATE_FACTOR + len(bought))).all()
        picked = []
        for sku, name, price, stock, _buyers in rows:
            item = _Live(name, Decimal(price), int(stock))
            if sku not in bought and _passes(item, filters):
                picked.append(Suggestion(sku, name, item.price, item.stock, POPULAR_NOW))
            if len(picked) == n:
                break
        return picked

    def _match_in_store(self, query: str, label: str, n: int, filters: Filters, bought: set[str]
                        ) -> list[Suggestion]:
        skus = self._name_search(text.words(query), n * CANDIDATE_FACTOR)
        live = self._live(skus)
        picked = []
        for sku in skus:
            item = live[sku]
            if sku not in bought and _passes(item, filters):
                picked.append(Suggestion(sku, item.name, item.price, item.stock, f"Matches '{label}'"))
            if len(picked) == n:
                break
        return picked


@lru_cache(maxsize=2048)
def _query_vector(query: str) -> np.ndarray:
    """Customers repeat themselves ('christmas', 'gift'): encode each distinct request text once."""
    vector = text.encode([query])[0]
    vector.setflags(write=False)
    return vector


def _passes(item: _Live, filters: Filters) -> bool:
    if filters.in_stock and item.stock <= 0:
        return False
    if filters.max_price is not None and item.price > filters.max_price:
        return False
    return not (filters.min_price is not None and item.price < filters.min_price)
