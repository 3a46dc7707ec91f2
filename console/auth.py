"""Sign in and out. Sessions are Flask-Login's; the login form is CSRF-protected like every other form."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from console.security import ConsoleUser
from console.services import services
from console.users import LoginLocked, authenticate

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("queue.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | WerkzeugResponse | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            agent = authenticate(services().sessions, form.email.data or "", form.password.data or "")
        except LoginLocked as exc:
            flash(str(exc), "error")
            return render_template("login.html", form=form), 429
        if agent is not None:
            session.clear()  # no session fixation: a fresh session for the signed-in agent
            login_user(ConsoleUser(agent))
            services().handoffs.touch_agent(agent.id)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        return render_template("login.html", form=form), 401
    if request.method == "POST":
        flash("Please enter your email and password.", "error")
        return render_template("login.html", form=form), 400
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response | WerkzeugResponse:
    services().handoffs.set_away(current_user.agent_id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
