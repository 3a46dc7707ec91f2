"""Admins manage the console here: accounts (add, disable or enable, reset password, change role) and the
canned replies agents use. Every action is a CSRF-protected POST form (the app's CSRFProtect), only admins
reach any of it, and the rules (the last active admin stays, disabled accounts are signed out) live in
console.users, so the CLI and these pages cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from console.canned import CannedError, all_canned, delete_canned, save_canned
from console.models import Role
from console.services import services
from console.users import (
    UserError,
    create_user,
    find_agent,
    generated_password,
    list_agents,
    reset_password,
    set_active,
    set_role,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only() -> tuple[str, int] | None:
    if not current_user.is_authenticated or not current_user.is_admin:
        return render_template("message.html", message="Managing the console is for admins."), 403
    return None


def _agents_page(status: int = 200) -> tuple[str, int]:
    return render_template("admin_agents.html", agents=list_agents(services().sessions),
                           roles=[r.value for r in Role]), status


@bp.get("/agents")
def agents() -> tuple[str, int]:
    return _agents_page()


def _password_page(agent_name: str, email: str, password: str, created: bool) -> str:
    """Shown once, never stored in the session or a flash (the cookie is only signed, not encrypted)."""
    return render_template("admin_password.html", name=agent_name, email=email, password=password,
                           created=created)


@bp.post("/agents")
def add_agent() -> str | tuple[str, int]:
    sessions = services().sessions
    try:
        password = generated_password()
        agent = create_user(sessions, request.form.get("email", ""), password, request.form.get("role", ""),
                            request.form.get("name") or None)
    except UserError as exc:
        flash(str(exc), "error")
        return _agents_page(400)
    return _password_page(agent.display_name, agent.email, password, created=True)


def _account_change(change: Callable[[], str]) -> Response | tuple[str, int]:
    """Run `change` (it returns what to tell the admin); a refusal shows the list again with its reason."""
    try:
        flash(change(), "ok")
    except UserError as exc:
        flash(str(exc), "error")
        return _agents_page(409)
    return redirect(url_for("admin.agents"))


@bp.post("/agents/<int:agent_id>/role")
def change_role(agent_id: int) -> Response | tuple[str, int]:
    def change() -> str:
        agent = set_role(services().sessions, agent_id, request.form.get("role", ""))
        return f"{agent.display_name} is now {'an admin' if agent.is_admin else 'an agent'}."

    return _account_change(change)


@bp.post("/agents/<int:agent_id>/active")
def change_active(agent_id: int) -> Response | tuple[str, int]:
    active = request.form.get("active") == "1"

    def change() -> str:
        agent = set_active(services().sessions, agent_id, active)
        if active:
            return f"{agent.display_name} can sign in again."
        released = services().handoffs.release_claims(agent_id)  # nobody would answer them: back to the queue
        back = f" {released} conversation(s) they held are back in the queue." if released else ""
        return f"{agent.display_name} is disabled and signed out everywhere.{back}"

    return _account_change(change)


@bp.post("/agents/<int:agent_id>/password")
def new_password(agent_id: int) -> str | tuple[str, int]:
    sessions = services().sessions
    try:
        agent = find_agent(sessions, agent_id)
        password = reset_password(sessions, agent_id)
    except UserError as exc:
        flash(str(exc), "error")
        return _agents_page(404)
    return _password_page(agent.display_name, agent.email, password, created=False)


@bp.get("/canned")
def canned() -> str:
    return render_template("admin_canned.html", canned=all_canned(services().sessions))


def _canned_done(message: str) -> Response:
    flash(message, "ok")
    return redirect(url_for("admin.canned"))


def _canned_refused(exc: CannedError) -> tuple[str, int]:
    flash(str(exc), "error")
    return render_template("admin_canned.html", canned=all_canned(services().sessions)), 400


@bp.post("/canned", defaults={"canned_id": None})
@bp.post("/canned/<int:canned_id>")
def save_canned_reply(canned_id: int | None) -> Response | tuple[str, int]:
    """Add a canned reply (no id) or change one."""
    try:
        reply = save_canned(services().sessions, request.form.get("title", ""), request.form.get("text", ""),
                            canned_id)
    except CannedError as exc:
        return _canned_refused(exc)
    return _canned_done(f"{'Added' if canned_id is None else 'Saved'} “{reply.title}”.")


@bp.post("/canned/<int:canned_id>/delete")
def remove_canned(canned_id: int) -> Response | tuple[str, int]:
    try:
        delete_canned(services().sessions, canned_id)
    except CannedError as exc:
        return _canned_refused(exc)
    return _canned_done("Canned reply deleted.")
