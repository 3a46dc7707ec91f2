"""Which sites may use the widget API: the web app's own pages and SHOPDESK_ALLOWED_ORIGINS, nobody else.

The same list opens Rasa's socket.io channel (store/origins.py). CORS (Flask-Cors) answers preflights and
names the allowed origin on `/api/*` and `/uploads/*`, never with credentials: a widget on another site
sends its widget token in `Authorization` instead of a cookie (web/identity.py), so no browser's cookie
can be used from a foreign page. A browser request from any other origin gets 403 with an error that says
what to configure; its CORS header is set so the widget can show that error (the body holds nothing else).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, request
from flask_cors import CORS

from store.origins import is_allowed, normalise

API_PREFIXES = ("/api/", "/uploads/")
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-ShopDesk-CSRF", "X-ShopDesk-Identity"]
PREFLIGHT_MAX_AGE_S = 600


def init_app(app: Flask) -> None:
    allowed = app.config["SHOPDESK_ALLOWED_ORIGINS"]
    options = {"origins": allowed if allowed else [], "allow_headers": ALLOWED_HEADERS,
               "methods": ["GET", "POST"], "supports_credentials": False, "max_age": PREFLIGHT_MAX_AGE_S}
    CORS(app, resources={r"/api/*": options, r"/uploads/*": options})
    app.before_request(refuse_foreign_origins)


def request_origin() -> str | None:
    origin = request.headers.get("Origin")
    return normalise(origin) if origin and origin != "null" else origin


def is_cross_origin() -> bool:
    """A page on another site is calling (browsers send Origin on every cross-origin request)."""
    origin = request_origin()
    if origin is None:
        return False
    return origin.split("://", 1)[-1] != request.host.lower()


def refuse_foreign_origins() -> Response | tuple[Response, int] | None:
    if not request.path.startswith(API_PREFIXES) or not is_cross_origin():
        return None
    origin = request_origin() or ""
    if is_allowed(origin, current_app.config["SHOPDESK_ALLOWED_ORIGINS"]):
        return None
    current_app.logger.warning("refused a widget API request from %s (not in SHOPDESK_ALLOWED_ORIGINS)", origin)
    response = jsonify(error=f"This chat cannot be used on {origin}: the shop has not allowed that site "
                             "(SHOPDESK_ALLOWED_ORIGINS on the ShopDesk server).")
    if request.method != "OPTIONS":  # a refused preflight says nothing; the refusal itself is readable
        response.headers["Access-Control-Allow-Origin"] = origin
    return response, 403
