"""ShopDesk's customer-facing web app: the embeddable chat widget and its API, plus the demo storefront in demo mode.

A shop's production run (SHOPDESK_MODE=production, the default) serves the widget script, its API and the
product card images only; the storefront and its password-less demo sign-in exist in demo mode alone
(`make demo`, runtime/demo.py), so no deployment can forget to switch them off.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

from shop_profile import ProfileError, current_profile
from store.db import make_engine, session_factory
from store.origins import allowed_origins, invalid_origins
from web.settings import MODES, settings_from_env
from web.store_access import EXTENSION


class ConfigurationError(RuntimeError):
    pass


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding (tests pass their own database etc.)."""
    settings = {**settings_from_env(), **(config or {})}
    # The storefront's stylesheet is all /static holds: a production run serves no pages of its own.
    app = Flask(__name__, static_folder="static" if settings.get("SHOPDESK_MODE") == "demo" else None)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="shopdesk_session",
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        # Only a request that changes the session sets the cookie. Refreshed on every request, an image or
        # asset request that started before /api/session answered wrote the older cookie back over it and
        # dropped the CSRF token just issued (the widget's next upload got a 403).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.config.update(settings)
    if len(app.config.get("SECRET_KEY") or "") < 16:
        raise ConfigurationError("FLASK_SECRET_KEY is not set (scripts/setup.sh writes one into .env)")
    _check_site_settings(app)
    try:
        current_profile()  # the storefront and widget show the shop's name: a bad shop.yml stops start-up
    except ProfileError as error:
        raise ConfigurationError(str(error)) from None
    # Uploads are limited again in web.uploads; this stops oversized bodies before they are read.
    app.config["MAX_CONTENT_LENGTH"] = app.config["SHOPDESK_MAX_UPLOAD_BYTES"] + 64 * 1024

    engine = make_engine(app.config["SHOPDESK_DATABASE_URL"])
    app.extensions[EXTENSION] = session_factory(engine)

    from web import api, cross_origin, identity, widget

    cross_origin.init_app(app)
    app.jinja_env.globals["shop"] = current_profile  # the shop's name, assistant and locale, read per page
    if app.config["SHOPDESK_MODE"] == "demo":
        from web import storefront

        app.jinja_env.globals["csrf_token"] = identity.csrf_token
        app.register_blueprint(storefront.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(api.bp)
    app.after_request(_security_headers)
    app.register_error_handler(413, _too_large)
    return app


def _check_site_settings(app: Flask) -> None:
    """A clear start-up error for a mode or an allowed origin that cannot be what the shop meant."""
    mode = app.config["SHOPDESK_MODE"]
    if mode not in MODES:
        raise ConfigurationError(f"SHOPDESK_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    if isinstance(app.config["SHOPDESK_ALLOWED_ORIGINS"], str) and app.config["SHOPDESK_ALLOWED_ORIGINS"] != "*":
        app.config["SHOPDESK_ALLOWED_ORIGINS"] = allowed_origins(app.config["SHOPDESK_ALLOWED_ORIGINS"])
    bad = invalid_origins(app.config["SHOPDESK_ALLOWED_ORIGINS"])
    if bad:
        raise ConfigurationError(f"SHOPDESK_ALLOWED_ORIGINS holds {', '.join(bad)}: origins are scheme://host[:port], "
                                 "e.g. https://shop.example (no path)")


def _too_large(_exc: Exception) -> tuple[dict[str, str], int]:
    from flask import current_app

    limit = current_app.config["SHOPDESK_MAX_UPLOAD_BYTES"] // (1024 * 1024)
    return {"error": f"The image is too large (the limit is {limit} MB)."}, 413


def _security_headers(response: Response) -> Response:
    """A strict CSP on our pages: even if some text slipped into HTML, no inline script would run."""
    from flask import current_app

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        rasa = urlsplit(current_app.config["SHOPDESK_RASA_PUBLIC_URL"])
        ws_scheme = "wss" if rasa.scheme == "https" else "ws"
        connect = f"'self' {rasa.scheme}://{rasa.netloc} {ws_scheme}://{rasa.netloc}"
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
            f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
            "object-src 'none'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
