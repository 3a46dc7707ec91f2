"""What the browser's signed Flask session cookie vouches for: its conversation, its shopper, its CSRF token.

The conversation id is minted here and kept in the cookie, so a browser can only ever read back the
transcript and attachments of its own conversation, whatever id a script puts in localStorage. The widget
gets a signed session token for it (store.tokens), the only thing that lets a socket.io client join it.
Signing out (or switching shopper) revokes the conversation (store.security), so its session and customer
tokens, and a copy of the old cookie, stop working at once.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from flask import abort, current_app, request, session
from sqlalchemy.exc import IntegrityError

from store.security import is_revoked, revoke_conversation
from store.tokens import issue_customer_token, issue_session_token
from web.store_access import store_session, store_transaction

CONVERSATION_KEY = "conversation_id"
CUSTOMER_KEY = "customer_id"
CSRF_KEY = "csrf"
CSRF_HEADER = "X-ShopDesk-CSRF"


def conversation_id() -> str:
    """This browser's conversation id, created on first use (and anew if the old one was revoked)."""
    cid = session.get(CONVERSATION_KEY)
    if not isinstance(cid, str) or not cid:
        return new_conversation()
    with store_session() as s:
        if is_revoked(s, cid):
            return new_conversation()
    return cid


def new_conversation() -> str:
    cid = uuid.uuid4().hex
    session[CONVERSATION_KEY] = cid
    session.permanent = True
    return cid


def _signing_key() -> str | None:
    return current_app.config.get("SHOPDESK_SIGNING_KEY") or None


def session_token(cid: str) -> str:
    """What the widget sends in socket.io's `session_request` to join conversation `cid`."""
    return issue_session_token(cid, key=_signing_key())


def customer_token(customer_id: int, cid: str) -> str:
    """The signed-in shopper, vouched for in conversation `cid` only."""
    return issue_customer_token(customer_id, cid, key=_signing_key())


def end_conversation() -> None:
    """Revoke this browser's current conversation (its tokens stop working), if it has one."""
    cid = session.get(CONVERSATION_KEY)
    if isinstance(cid, str) and cid:
        try:
            with store_transaction() as s:
                revoke_conversation(s, cid)
        except IntegrityError:  # a concurrent sign-out (double submit) revoked it first
            pass


def signed_in_customer() -> int | None:
    cid = session.get(CUSTOMER_KEY)
    return cid if isinstance(cid, int) else None


def sign_in(customer_id: int) -> None:
    """Switching to a different shopper starts a new conversation: a chat never changes hands."""
    previous = signed_in_customer()
    if previous is not None and previous != customer_id:
        end_conversation()
        new_conversation()
    session[CUSTOMER_KEY] = customer_id


def sign_out() -> None:
    """Signing out also ends the conversation, so the next visitor doesn't inherit a verified chat."""
    end_conversation()
    session.pop(CUSTOMER_KEY, None)
    new_conversation()


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(24)
    return token


def require_csrf() -> None:
    """Abort with 403 unless the request carries this session's CSRF token (form field or header)."""
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, description="Your session expired or the request did not come from this site. Reload the page.")
