"""ShopDesk's agent console: a live queue of conversations handed to people, and the view to handle one.

`create_app(config)` builds the Flask app (blueprints: auth, queue, conversations, api; for admins review:
training from conversation logs, and admin: accounts and canned replies). Run it with
`python -m console` (127.0.0.1:8090); create accounts with `python -m console create-user`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported lazily: the action server imports console.handoffs without it
    from flask import Flask, Response


class ConfigurationError(RuntimeError):
    pass


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the console from the environment, with `config` overriding (tests pass their own database)."""
    from flask import Flask

    from console import admin, api, auth, conversations, queue, review
    from console.handoffs import HandoffDesk
    from console.labels import channel_name
    from console.rasa_client import RasaClient
    from console.security import init_security
    from console.services import EXTENSION, Services
    from console.settings import settings_from_env
    from shop_profile import ProfileError, current_profile
    from store.backend import BackendMisconfigured, configured_backend
    from store.db import make_engine, session_factory

    app = Flask(__name__)
    app.config.update(settings_from_env())
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="shopdesk_console",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        REMEMBER_COOKIE_DURATION=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead, which expires
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if config:
        app.config.update(config)
    secret = app.config.get("SECRET_KEY") or ""
    if len(secret) < 16:
        raise ConfigurationError("SHOPDESK_CONSOLE_SECRET_KEY is not set or shorter than 16 characters "
                                 "(scripts/setup.sh writes one into .env)")
    if secret == app.config.get("CONSOLE_WEB_SECRET_KEY"):
        raise ConfigurationError("SHOPDESK_CONSOLE_SECRET_KEY must differ from the web app's FLASK_SECRET_KEY")

    try:
        current_profile()  # the console and its messages to customers name the shop and its assistant
    except ProfileError as error:
        raise ConfigurationError(str(error)) from None

    sessions = session_factory(make_engine(app.config["SHOPDESK_DATABASE_URL"]))
    try:
        orders = configured_backend(sessions)  # where the orders are: ShopDesk's store or the shop's order API
    except BackendMisconfigured as error:
        raise ConfigurationError(str(error)) from None
    app.extensions[EXTENSION] = Services(
        sessions=sessions, handoffs=HandoffDesk(sessions), orders=orders,
        rasa=RasaClient(app.config["SHOPDESK_RASA_URL"], app.config["SHOPDESK_RASA_AUTH_TOKEN"],
                        app.config["SHOPDESK_RASA_TIMEOUT_S"]),
    )
    init_security(app)
    app.jinja_env.globals["shop"] = current_profile  # the shop's name in the header, read per page
    app.jinja_env.globals["channel_name"] = channel_name
    app.register_blueprint(auth.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(conversations.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(admin.bp)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    """No inline script or style may run, so even text that slipped into HTML could not execute."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
    return response
