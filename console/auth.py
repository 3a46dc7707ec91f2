"""Sign in and out. Sessions are Flask-Login's; the login form is CSRF-protected like every other form."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from console.security import ConsoleUser, client_address, safe_next
from console.services import services
from console.users import LoginThrottled, authenticate

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | WerkzeugResponse | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            agent = authenticate(services().sessions, form.email.data or "", form.password.data or "",
                                 client_address())
        except LoginThrottled as exc:
            flash(str(exc), "error")
            return render_template("login.html", form=form), 429
        if agent is not None:
            session.clear()  # no session fixation: a fresh session for the signed-in agent
            login_user(ConsoleUser(agent))
            services().handoffs.touch_agent(agent.id)
            return redirect(safe_next(request.args.get("next")) or url_for("queue.index"))
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
