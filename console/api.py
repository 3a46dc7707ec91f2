"""JSON and Server-Sent Events for the console's pages. Same rules as the forms (console.operations).

POSTs need the CSRF token in the X-CSRFToken header (the pages carry it in a meta tag).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user

from console import operations
from console.operations import ActionRefused
from console.queue import queue_json, sse
from console.security import still_signed_in
from console.services import services
from console.suggestions import question_from, suggestions

bp = Blueprint("api", __name__, url_prefix="/api")


def _refused(exc: ActionRefused, status: int = 409) -> tuple[Response, int]:
    return jsonify(error=str(exc)), status


def _state_json(handoff_id: int) -> dict[str, Any]:
    state = operations.conversation_state(services(), handoff_id, current_app.config["SHOPDESK_SIGNING_KEY"],
                                          with_context=False)
    return {"handoff": state.handoff.as_json(), "transcript": state.items, "paused": state.paused,
            "problem": state.rasa_problem, "mine": state.handoff.claimed_by_id == current_user.agent_id}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.get("/queue")
def queue() -> Response:
    return jsonify(queue_json(services().handoffs, current_user.agent_id))


@bp.get("/handoffs/<int:handoff_id>")
def handoff(handoff_id: int) -> Response | tuple[Response, int]:
    try:
        return jsonify(_state_json(handoff_id))
    except ActionRefused as exc:
        return _refused(exc, 404)


@bp.get("/handoffs/<int:handoff_id>/stream")
def stream(handoff_id: int) -> Response | tuple[Response, int]:
    """Pushes the transcript and handoff state whenever they change: the customer's messages, live."""
    try:
        first = _state_json(handoff_id)
    except ActionRefused as exc:
        return _refused(exc, 404)
    poll, lifetime = current_app.config["CONSOLE_POLL_SECONDS"], current_app.config["CONSOLE_STREAM_SECONDS"]
    user = current_user._get_current_object()

    def events() -> Iterator[str]:
        last: dict[str, Any] | None = first
        yield "retry: 2000\n\n"
        yield sse("conversation", first)
        deadline, last_sent = time.monotonic() + lifetime, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(poll)
            if not still_signed_in(user):
                return  # disabled or signed out elsewhere: the transcript stops here

            current = _state_json(handoff_id)
            if current != last:
                yield sse("conversation", current)
                last, last_sent = current, time.monotonic()
            elif time.monotonic() - last_sent >= 15:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()

    return Response(stream_with_context(events()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@bp.post("/handoffs/<int:handoff_id>/claim")
def claim(handoff_id: int) -> Response | tuple[Response, int]:
    try:
        return jsonify(handoff=operations.claim(services(), current_user, handoff_id).as_json())
    except ActionRefused as exc:
        return _refused(exc)


@bp.post("/handoffs/<int:handoff_id>/reply")
def reply(handoff_id: int) -> Response | tuple[Response, int]:
    try:
        operations.reply(services(), current_user, handoff_id, str(_body().get("text") or ""))
    except ActionRefused as exc:
        return _refused(exc)
    return jsonify(ok=True)


@bp.post("/handoffs/<int:handoff_id>/return")
def return_to_bot(handoff_id: int) -> Response | tuple[Response, int]:
    try:
        view = operations.give_back(services(), current_user, handoff_id, close=False,
                                    note=str(_body().get("note") or ""))
    except ActionRefused as exc:
        return _refused(exc)
    return jsonify(handoff=view.as_json())


@bp.post("/handoffs/<int:handoff_id>/close")
def close(handoff_id: int) -> Response | tuple[Response, int]:
    try:
        view = operations.give_back(services(), current_user, handoff_id, close=True,
                                    note=str(_body().get("note") or ""))
    except ActionRefused as exc:
        return _refused(exc)
    return jsonify(handoff=view.as_json())


@bp.get("/handoffs/<int:handoff_id>/suggestions")
def handoff_suggestions(handoff_id: int) -> Response | tuple[Response, int]:
    """Knowledge-base passages for the customer's latest question (or `?q=`, the agent's own words)."""
    if not current_app.config["CONSOLE_KNOWLEDGE"]:
        return jsonify(suggestions=[], problem="Knowledge-base suggestions are turned off.")
    question = request.args.get("q", "")
    if not question:
        try:
            items = _state_json(handoff_id)["transcript"]
        except ActionRefused as exc:
            return _refused(exc, 404)
        question = question_from(items)
    found, problem = suggestions(question)
    return jsonify(question=question, suggestions=found, problem=problem)


@bp.get("/canned")
def canned() -> Response:
    return jsonify(canned=operations.canned_replies(services()))
