"""The reference order API: the contract of docs/order-api.md, served from ShopDesk's SQL store.

What a shop copies or compares against when it connects its own order system instead of importing into
ShopDesk's (`SHOPDESK_ORDER_BACKEND=http`). Every endpoint is a thin layer over `store.service.OrderDesk`, so
the answers are exactly the demo store's. The tests start it as a real process and talk to it with
`store.http_backend.HttpOrderBackend`.

    SHOPDESK_ORDER_API_TOKEN=... .venv/app/bin/python -m store.reference_order_api [--host 127.0.0.1]
        [--port 8091] [--database-url sqlite:///var/shop.db]

The bearer secret comes from the environment only, and the server does not start without one (at least
16 characters). It binds to loopback unless told otherwise: only ShopDesk should reach it.
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from store.errors import NotAllowed, OrderNotFound
from store.order_json import customer_json, invoice_json, order_json, refund_json, return_json
from store.service import OrderDesk

TOKEN_ENV = "SHOPDESK_ORDER_API_TOKEN"
MIN_TOKEN_LENGTH = 16
EXTENSION = "shopdesk_order_api"
OPEN_PATHS = frozenset({"/v1/health"})

bp = Blueprint("order_api", __name__, url_prefix="/v1")


class ConfigurationError(RuntimeError):
    pass


def _desk() -> OrderDesk:
    return current_app.extensions[EXTENSION]["desk"]


def error(status: int, code: str, message: str = "") -> tuple[Response, int]:
    body: dict[str, Any] = {"error": code}
    if message:
        body["message"] = message
    return jsonify(body), status


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _text_field(name: str, limit: int) -> str | None:
    value = _body().get(name)
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


@bp.before_request
def require_token() -> tuple[Response, int] | None:
    """Deny by default: every path but the health probe needs `Authorization: Bearer <token>`."""
    if request.path in OPEN_PATHS:
        return None
    expected = current_app.extensions[EXTENSION]["token"]
    given = request.headers.get("Authorization", "")
    if hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {expected}".encode()):
        return None
    return error(401, "unauthorized", "Send Authorization: Bearer <the shared secret>.")


@bp.errorhandler(OrderNotFound)
def not_found(_: OrderNotFound) -> tuple[Response, int]:
    return error(404, "not_found")  # someone else's order too: the same answer as one that doesn't exist


@bp.errorhandler(NotAllowed)
def not_allowed(refused: NotAllowed) -> tuple[Response, int]:
    return error(409, "not_allowed", str(refused))  # the desk's message is written for the customer


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.post("/identity/check")
def identity_check() -> Response | tuple[Response, int]:
    number, email = _text_field("order_number", 64), _text_field("email", 254)
    if number is None or email is None:
        return error(400, "invalid", "order_number and email (strings) are required")
    customer_id = _desk().owner_of(number, email)
    if customer_id is None:
        return error(404, "not_found")
    return jsonify({"customer_id": customer_id})


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int) -> Response | tuple[Response, int]:
    found = _desk().customer(customer_id)
    return jsonify(customer_json(found)) if found else error(404, "not_found")


@bp.get("/customers/<int:customer_id>/orders")
def orders(customer_id: int) -> Response | tuple[Response, int]:
    limit = request.args.get("limit", "5")
    if not limit.isdigit() or not 1 <= int(limit) <= 20:
        return error(400, "invalid", "limit must be 1..20")
    return jsonify({"orders": [order_json(o) for o in _desk().recent_orders(customer_id, int(limit))]})


@bp.get("/customers/<int:customer_id>/orders/<number>")
def order(customer_id: int, number: str) -> Response | tuple[Response, int]:
    return jsonify(order_json(_desk().order(customer_id, number)))


@bp.get("/customers/<int:customer_id>/invoices/<reference>")
def invoice(customer_id: int, reference: str) -> Response | tuple[Response, int]:
    try:
        return jsonify(invoice_json(_desk().invoice(customer_id, reference)))
    except NotAllowed:
        return error(404, "not_found")  # the desk's "no such invoice on your account"


@bp.get("/customers/<int:customer_id>/refunds")
def refunds(customer_id: int) -> Response | tuple[Response, int]:
    found = _desk().refunds(customer_id, request.args.get("order") or None)
    return jsonify({"refunds": [refund_json(r) for r in found]})


@bp.get("/customers/<int:customer_id>/returns")
def returns(customer_id: int) -> Response:
    return jsonify({"returns": [return_json(r) for r in _desk().returns(customer_id)]})


@bp.post("/customers/<int:customer_id>/orders/<number>/cancel")
def cancel(customer_id: int, number: str) -> Response | tuple[Response, int]:
    return jsonify(refund_json(_desk().cancel_order(customer_id, number)))


@bp.post("/customers/<int:customer_id>/orders/<number>/address")
def change_address(customer_id: int, number: str) -> Response | tuple[Response, int]:
    address = _text_field("address", 300)
    if address is None:
        return error(400, "invalid", "address (a string of at most 300 characters) is required")
    return jsonify(order_json(_desk().change_shipping_address(customer_id, number, address)))


@bp.post("/customers/<int:customer_id>/orders/<number>/returns")
def open_return(customer_id: int, number: str) -> Response | tuple[Response, int]:
    reason = _text_field("reason", 500)
    if reason is None:
        return error(400, "invalid", "reason (a string of at most 500 characters) is required")
    return jsonify(return_json(_desk().open_return(customer_id, number, reason))), 201


def create_app(desk: OrderDesk | None = None, token: str | None = None) -> Flask:
    """The API over `desk` (default: the store at $SHOPDESK_DATABASE_URL), guarded by `token` (default
    $SHOPDESK_ORDER_API_TOKEN). ConfigurationError without a token of at least MIN_TOKEN_LENGTH characters."""
    secret = (token if token is not None else os.environ.get(TOKEN_ENV, "")).strip()
    if len(secret) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(f"{TOKEN_ENV} is not set or shorter than {MIN_TOKEN_LENGTH} characters")
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # fields in the contract's order
    app.extensions[EXTENSION] = {"desk": desk or OrderDesk(), "token": secret}
    app.register_blueprint(bp)

    @app.errorhandler(404)
    def unknown_path(_: Exception) -> tuple[Response, int]:
        return error(404, "no_such_endpoint")  # not "not_found": a wrong path must not read as "no such order"

    @app.errorhandler(405)
    def wrong_method(_: Exception) -> tuple[Response, int]:
        return error(405, "method_not_allowed")

    @app.errorhandler(413)
    def too_large(_: Exception) -> tuple[Response, int]:
        return error(413, "too_large")

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.reference_order_api", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--database-url", default=None, help="the store to serve (default $SHOPDESK_DATABASE_URL)")
    args = parser.parse_args(argv)
    from store.db import make_engine, session_factory

    try:
        app = create_app(OrderDesk(session_factory(make_engine(args.database_url))))
    except ConfigurationError as problem:
        print(f"reference order API: {problem}", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
