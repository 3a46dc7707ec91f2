"""The demo shop (demo mode only, see web/__init__.py): a product grid and a fake sign-in as a seeded customer."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from web import identity
from web.catalog import best_sellers, customer_name, demo_shoppers, product_page
from web.store_access import store_session

bp = Blueprint("storefront", __name__)


@bp.get("/")
def index() -> str:
    page = request.args.get("page", "1")
    query = request.args.get("q", "")
    with store_session() as s:
        listing = product_page(s, int(page) if page.isdigit() else 1, query)
        featured = best_sellers(s) if listing.page == 1 and not listing.query else []
        shopper = _shopper_name(s)
    return render_template("index.html", listing=listing, featured=featured, shopper=shopper)


@bp.get("/signin")
def signin_form() -> str:
    with store_session() as s:
        shoppers = demo_shoppers(s)
        shopper = _shopper_name(s)
    return render_template("signin.html", shoppers=shoppers, shopper=shopper, error=None)


@bp.post("/signin")
def signin() -> Response | tuple[str, int]:
    identity.require_csrf()
    raw = request.form.get("customer_id", "")
    with store_session() as s:
        shoppers = demo_shoppers(s)
        chosen = next((c for c in shoppers if raw.isdigit() and c.id == int(raw)), None)
        if chosen is None:
            return render_template("signin.html", shoppers=shoppers, shopper=_shopper_name(s),
                                   error="Please pick one of the demo shoppers."), 400
    identity.sign_in(chosen.id)
    current_app.logger.info("demo sign-in as customer %s", chosen.id)
    return redirect(url_for("storefront.index"))


@bp.post("/signout")
def signout() -> Response:
    identity.require_csrf()
    identity.sign_out()
    return redirect(url_for("storefront.index"))


def _shopper_name(s) -> str | None:  # type: ignore[no-untyped-def]
    customer_id = identity.signed_in_customer()
    return customer_name(s, customer_id) if customer_id is not None else None
