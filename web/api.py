"""JSON API the widget calls: its session, a new conversation, the transcript, who the chat is with (bot,
queue or a named agent), image attachments.

Every endpoint acts only on the conversation the widget holds (web/identity.py: its session cookie on
ShopDesk's own origin, its widget token on the shop's site); the Rasa API token stays on the server. The
widget joins that conversation over socket.io with the `session_token` handed out here; the customer's
`customer_token` is bound to that same conversation. Who the customer is comes from the shop's signed
identity token (`X-ShopDesk-Identity`, web/shop_identity.py), or in demo mode from the storefront's sign-in;
a refused token is reported in `identity_error` and the chat goes on as a guest. A verified customer's
history follows them across devices: /api/history adds their earlier conversations
(store.customer_conversations). Uploads are limited per conversation and per client address (across
conversations, within a time window).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from store.attachments import count_for_client, count_for_conversation, find_by_stored_name, record_attachment
from store.customer_conversations import earlier_conversations, remember
from store.security import throttle_key
from web import identity
from web.catalog import customer_name
from web.chat_state import handoff_state, welcome
from web.shop_identity import IdentityRefused, customer_for, verify_identity_token
from web.store_access import store_session, store_sessions, store_transaction
from web.transcript import TranscriptUnavailable, fetch_events, transcript
from web.uploads import ALLOWED_TYPES, UploadRejected, is_stored_name, store_image

bp = Blueprint("api", __name__)


@bp.errorhandler(HTTPException)
def json_error(exc: HTTPException) -> tuple[Response, int]:
    return jsonify(error=exc.description or exc.name), exc.code or 500


IDENTITY_HEADER = "X-ShopDesk-Identity"
EARLIER_CONVERSATIONS = 3  # a verified customer's earlier conversations shown above the current one
EARLIER_MESSAGES = 100  # of each


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@bp.get("/api/session")
def session_info() -> Response:
    """Everything the widget needs to start: conversation id and its session token, customer token, CSRF
    token (cookie) or widget token (token mode), where Rasa is."""
    config = current_app.config
    identity_error = _establish_customer()
    cid = identity.conversation_id()
    customer, token = _customer(cid)
    by_token = identity.holder().by_token
    response = jsonify(
        conversation_id=cid,
        session_token=identity.session_token(cid),
        widget_token=identity.widget_token(),
        customer=customer,
        customer_token=token,
        identity_error=identity_error,
        csrf_token=None if by_token else identity.csrf_token(),
        socket={"url": config["SHOPDESK_RASA_PUBLIC_URL"], "path": config["SHOPDESK_RASA_SOCKET_PATH"]},
        upload={"max_bytes": config["SHOPDESK_MAX_UPLOAD_BYTES"], "types": sorted(ALLOWED_TYPES)},
        welcome=welcome(),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/handoff")
def handoff() -> Response:
    """Who this widget's conversation is with: the bot, the queue (real place and wait) or a named agent."""
    response = jsonify(conversation_id=identity.conversation_id(),
                       **handoff_state(store_sessions(), identity.conversation_id()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _establish_customer() -> str | None:
    """Who this widget speaks for, from the shop's identity token; the refusal message, if it was refused.

    Without a token the chat is a guest's, except on the demo storefront, whose sign-in lives in the cookie.
    """
    raw = request.headers.get(IDENTITY_HEADER)
    if raw is None:
        if current_app.config["SHOPDESK_MODE"] != "demo" or identity.holder().by_token:
            identity.set_customer(None)
        return None
    try:
        claims = verify_identity_token(raw, current_app.config["SHOPDESK_IDENTITY_SECRET"])
        with store_session() as s:
            customer_id = customer_for(s, claims)
    except IdentityRefused as refused:
        current_app.logger.info("identity token refused: %s", refused)
        identity.set_customer(None)
        return str(refused)
    identity.set_customer(customer_id)
    return None


def _customer(cid: str) -> tuple[dict[str, str] | None, str | None]:
    """The signed-in shopper's name and a customer token bound to conversation `cid` (or None, None); the
    conversation is remembered as theirs, so it follows them to their other devices."""
    customer_id = identity.signed_in_customer()
    if customer_id is None:
        return None, None
    with store_session() as s:
        name = customer_name(s, customer_id)
    if name is None:
        return None, None
    with store_transaction() as s:
        remember(s, customer_id, cid, utcnow())
    return {"name": name}, identity.customer_token(customer_id, cid)


@bp.post("/api/conversations")
def start_conversation() -> tuple[Response, int]:
    identity.require_csrf()
    identity_error = _establish_customer()
    cid = identity.new_conversation()
    _, token = _customer(cid)
    return jsonify(conversation_id=cid, session_token=identity.session_token(cid), customer_token=token,
                   widget_token=identity.widget_token(), identity_error=identity_error), 201


@bp.get("/api/history")
def history() -> Response | tuple[Response, int]:
    """The transcript of this widget's conversation (never another's: the id comes from its cookie or token)."""
    config = current_app.config
    cid = identity.conversation_id()
    try:
        events = fetch_events(config["SHOPDESK_RASA_URL"], config["SHOPDESK_RASA_AUTH_TOKEN"], cid,
                              config["SHOPDESK_RASA_TIMEOUT_S"])
    except TranscriptUnavailable as exc:
        current_app.logger.warning("history of %s unavailable: %s", cid, exc)
        return jsonify(error="The conversation history is unavailable right now.", conversation_id=cid), 503
    response = jsonify(conversation_id=cid, messages=transcript(events), earlier=_earlier(cid))
    response.headers["Cache-Control"] = "no-store"
    return response


def _earlier(cid: str) -> list[dict[str, object]]:
    """A verified customer's earlier conversations (on any device), oldest first, each with its transcript;
    none for a guest. One Rasa is asked per conversation; one it can't read is left out, never an error."""
    customer_id = identity.signed_in_customer()
    if customer_id is None:
        return []
    config = current_app.config
    with store_session() as s:
        past = earlier_conversations(s, customer_id, cid, EARLIER_CONVERSATIONS)
    earlier = []
    for conversation in reversed(past):
        try:
            events = fetch_events(config["SHOPDESK_RASA_URL"], config["SHOPDESK_RASA_AUTH_TOKEN"],
                                  conversation.conversation_id, config["SHOPDESK_RASA_TIMEOUT_S"])
        except TranscriptUnavailable:
            continue
        messages = transcript(events)[-EARLIER_MESSAGES:]
        if messages:
            earlier.append({"started_at": conversation.started_at.isoformat(timespec="seconds") + "Z",
                            "messages": messages})
    return earlier


@bp.post("/api/attachments")
def upload_attachment() -> tuple[Response, int]:
    """Store an image for this conversation; linked to the shopper's open return request if any."""
    identity.require_csrf()
    config = current_app.config
    file = request.files.get("image")
    if file is None:
        abort(400, description="Choose an image to attach.")
    cid = identity.conversation_id()
    customer_id = identity.signed_in_customer()
    client_key = throttle_key("client", request.remote_addr or "unknown")
    with store_session() as s:
        if count_for_conversation(s, cid) >= config["SHOPDESK_MAX_ATTACHMENTS_PER_CONVERSATION"]:
            abort(429, description="This conversation already has the most images it can take.")
        window = timedelta(seconds=config["SHOPDESK_ATTACHMENT_QUOTA_WINDOW_S"])
        if count_for_client(s, client_key, window) >= config["SHOPDESK_MAX_ATTACHMENTS_PER_CLIENT"]:
            abort(429, description="You have attached the most images allowed for now. Please try again later.")
    try:
        stored = store_image(file.stream, Path(config["SHOPDESK_UPLOAD_DIR"]), config["SHOPDESK_MAX_UPLOAD_BYTES"])
    except UploadRejected as exc:
        abort(exc.status, description=str(exc))
    try:
        with store_transaction() as s:
            view = record_attachment(s, conversation_id=cid, customer_id=customer_id,
                                     stored_name=stored.stored_name, original_name=file.filename or "image",
                                     content_type=stored.content_type, size_bytes=stored.size_bytes,
                                     sha256=stored.sha256, client_key=client_key)
    except Exception:
        (Path(config["SHOPDESK_UPLOAD_DIR"]) / stored.stored_name).unlink(missing_ok=True)
        raise
    return jsonify(id=view.id, url=f"/uploads/{view.stored_name}", content_type=view.content_type,
                   size_bytes=view.size_bytes, name=view.original_name,
                   return_request_id=view.return_request_id), 201


@bp.get("/uploads/<name>")
def uploaded_image(name: str) -> Response:
    """An attached image, only for the browser whose conversation (or signed-in shopper) it belongs to."""
    if not is_stored_name(name):
        abort(404)
    with store_session() as s:
        view = find_by_stored_name(s, name)
    customer_id = identity.signed_in_customer()
    owner = view is not None and (
        view.conversation_id == identity.conversation_id()
        or (customer_id is not None and view.customer_id == customer_id)
    )
    if not owner:
        abort(404)
    response = send_from_directory(Path(current_app.config["SHOPDESK_UPLOAD_DIR"]).resolve(), name,
                                   mimetype=view.content_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
