"""Login (Flask-Login sessions), CSRF (Flask-WTF), the rule that nothing answers without login, and who the
client is (for throttling sign-ins) and where a sign-in may lead (same-site paths only)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.channels.client_ip import client_address as forwarded_client_address
from console.settings import Network
from console.users import AgentView, get_agent

login_manager = LoginManager()
csrf = CSRFProtect()

# Reachable without login: the login form and the one stylesheet it uses.
PUBLIC_ENDPOINTS = {"auth.login"}
PUBLIC_STATIC = {"console.css"}


class ConsoleUser(UserMixin):
    """The session stores "<agent id>:<session epoch>": a disabled account or a reset password bumps the epoch
    (console.users), so every session signed in before no longer loads and the agent is signed out."""

    def __init__(self, agent: AgentView) -> None:
        self.agent = agent
        self.id = f"{agent.id}:{agent.session_epoch}"

    @property
    def agent_id(self) -> int:
        return self.agent.id

    @property
    def is_admin(self) -> bool:
        return self.agent.is_admin


def still_signed_in(user: ConsoleUser) -> bool:
    """Whether the session would still load (account active, same session epoch): long-lived streams ask this
    while they run, so disabling an agent ends their open live views too, not only their next request."""
    from console.services import services

    agent = get_agent(services().sessions, user.agent_id)
    return agent is not None and agent.session_epoch == user.agent.session_epoch


def init_security(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> ConsoleUser | None:
        from console.services import services

        agent_id, _, epoch = str(user_id).partition(":")
        try:
            agent = get_agent(services().sessions, int(agent_id))
        except (TypeError, ValueError):
            return None
        if agent is None or str(agent.session_epoch) != epoch:
            return None
        return ConsoleUser(agent)

    @app.before_request
    def require_login() -> Response | tuple[Response, int] | None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.endpoint == "static" and (request.view_args or {}).get("filename") in PUBLIC_STATIC:
            return None
        if current_user.is_authenticated:
            return None
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "text/event-stream":
            return jsonify(error="Please sign in."), 401
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    csrf.init_app(app)  # after require_login: an anonymous request is sent to sign in first

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[Response, int] | tuple[str, int]:
        message = "Your session form expired or is invalid. Reload the page and try again."
        if request.path.startswith("/api/"):
            return jsonify(error=message), 400
        return message, 400


MAX_NEXT_CHARS = 2048


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None: no other host, however a browser might read it.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so "/<TAB>/evil.example" or
    "/<BACKSLASH>evil.example" would leave the site; a CR/LF would also break the Location header. Every
    character must be printable (no controls, no Unicode line or paragraph separators).
    """
    if not target or len(target) > MAX_NEXT_CHARS or not target.isprintable() or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def client_address() -> str:
    """The client's address: the connection's, or, behind one of SHOPDESK_TRUSTED_PROXIES, the last address in
    X-Forwarded-For that is not a trusted proxy (what a client writes into the header itself is never used).
    The same rule as the widget channel's, from the one implementation of it."""
    trusted: tuple[Network, ...] = current_app.config.get("CONSOLE_TRUSTED_PROXIES", ())
    forwarded = ",".join(request.headers.getlist("X-Forwarded-For"))
    return forwarded_client_address(request.remote_addr or "", forwarded or None, trusted)
