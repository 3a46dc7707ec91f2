"""Login (Flask-Login sessions), CSRF (Flask-WTF) and the rule that nothing answers without login."""

from __future__ import annotations

from flask import Flask, Response, jsonify, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from console.users import AgentView, get_agent

login_manager = LoginManager()
csrf = CSRFProtect()

# Reachable without login: the login form and the one stylesheet it uses.
PUBLIC_ENDPOINTS = {"auth.login"}
PUBLIC_STATIC = {"console.css"}


class ConsoleUser(UserMixin):
    def __init__(self, agent: AgentView) -> None:
        self.agent = agent
        self.id = str(agent.id)

    @property
    def agent_id(self) -> int:
        return self.agent.id

    @property
    def is_admin(self) -> bool:
        return self.agent.is_admin


def init_security(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> ConsoleUser | None:
        from console.services import services

        try:
            agent = get_agent(services().sessions, int(user_id))
        except (TypeError, ValueError):
            return None
        return ConsoleUser(agent) if agent else None

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
