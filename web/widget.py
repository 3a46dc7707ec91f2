"""Serves the embeddable widget (/widget.js, its stylesheet), the vendored socket.io client and card images.

These are served in every mode: they are what a shop's own pages load (docs/adopting.md).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from web.catalog import product_by_sku
from web.placeholder import product_svg
from web.store_access import store_session
from web.vendor import VENDOR_DIR, vendored_client_path

WIDGET_DIR = Path(__file__).resolve().parent / "static" / "widget"

bp = Blueprint("widget", __name__)


@bp.get("/widget.js")
def embed_script() -> Response:
    """The one script tag a shop pastes: `<script src="https://<shopdesk>/widget.js" data-…></script>`."""
    return asset("shopdesk.js")


@bp.get("/widget/<path:name>")
def asset(name: str) -> Response:
    response = send_from_directory(WIDGET_DIR, name, max_age=300)
    # The widget is meant to be embedded by other sites.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/widget/vendor/socket.io.min.js")
def socketio_client() -> Response:
    if not vendored_client_path().is_file():
        abort(404, description="The socket.io client is not vendored yet: run `python -m web.vendor`.")
    response = send_from_directory(VENDOR_DIR, vendored_client_path().name, mimetype="text/javascript",
                                   max_age=86400)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/products/<sku>.svg")
def product_image(sku: str) -> Response:
    """The placeholder image of a product card the bot sends (actions/recommendations.py)."""
    with store_session() as s:
        product = product_by_sku(s, sku[:32])
    if product is None:
        abort(404)
    svg = product_svg(product.sku, product.name, product.price_label)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Also the launchers' health check (runtime/stack.py), in every mode."""
    return Response(status=204)
