"""The conversation view (transcript with NLU details, customer context, replies) and its form actions.

Every action is a plain POST form with a CSRF token, so the page works without JavaScript; the page's
script only adds live updates and sends replies without reloading (through console.api).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from console import operations
from console.operations import ActionRefused
from console.services import services

bp = Blueprint("conversations", __name__, url_prefix="/conversations")


@bp.get("/<int:handoff_id>")
def view(handoff_id: int) -> str | tuple[str, int]:
    svc = services()
    try:
        state = operations.conversation_state(svc, handoff_id, current_app.config["SHOPDESK_SIGNING_KEY"],
                                              with_context=True)
    except ActionRefused as exc:
        return render_template("message.html", message=str(exc)), 404
    svc.handoffs.touch_agent(current_user.agent_id)
    return render_template("conversation.html", state=state, canned=operations.canned_replies(svc),
                           is_mine=state.handoff.claimed_by_id == current_user.agent_id)


def _done(handoff_id: int) -> Response:
    return redirect(url_for("conversations.view", handoff_id=handoff_id))


@bp.post("/<int:handoff_id>/claim")
def claim(handoff_id: int) -> Response:
    try:
        operations.claim(services(), current_user, handoff_id)
        flash("You are now handling this conversation. The bot stays quiet until you hand it back.", "ok")
    except ActionRefused as exc:
        flash(str(exc), "error")
    return _done(handoff_id)


@bp.post("/<int:handoff_id>/reply")
def reply(handoff_id: int) -> Response:
    try:
        operations.reply(services(), current_user, handoff_id, request.form.get("text", ""))
    except ActionRefused as exc:
        flash(str(exc), "error")
    return _done(handoff_id)


@bp.post("/<int:handoff_id>/return")
def return_to_bot(handoff_id: int) -> Response:
    try:
        operations.give_back(services(), current_user, handoff_id, close=False, note=request.form.get("note", ""))
        flash("Handed back to the bot.", "ok")
    except ActionRefused as exc:
        flash(str(exc), "error")
    return _done(handoff_id)


@bp.post("/<int:handoff_id>/close")
def close(handoff_id: int) -> Response:
    try:
        operations.give_back(services(), current_user, handoff_id, close=True, note=request.form.get("note", ""))
        flash("Conversation closed.", "ok")
    except ActionRefused as exc:
        flash(str(exc), "error")
    return _done(handoff_id)
