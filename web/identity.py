"""What the browser's signed Flask session cookie vouches for: its conversation, its shopper, its CSRF token.

The conversation id is minted here and kept in the cookie, so a browser can only ever read back the
transcript and attachments of its own conversation, whatever id a script puts in localStorage.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from flask import abort, request, session

CONVERSATION_KEY = "conversation_id"
CUSTOMER_KEY = "customer_id"
CSRF_KEY = "csrf"
CSRF_HEADER = "X-ShopDesk-CSRF"


def conversation_id() -> str:
    """This browser's conversation id, created on first use."""
    cid = session.get(CONVERSATION_KEY)
    if not isinstance(cid, str) or not cid:
        cid = new_conversation()
    return cid


def new_conversation() -> str:
    cid = uuid.uuid4().hex
    session[CONVERSATION_KEY] = cid
    session.permanent = True
    return cid


def signed_in_customer() -> int | None:
    cid = session.get(CUSTOMER_KEY)
    return cid if isinstance(cid, int) else None


def sign_in(customer_id: int) -> None:
    """Switching to a different shopper starts a new conversation: a chat never changes hands."""
    previous = signed_in_customer()
    session[CUSTOMER_KEY] = customer_id
    if previous is not None and previous != customer_id:
        new_conversation()


def sign_out() -> None:
    """Signing out also ends the conversation, so the next visitor doesn't inherit a verified chat."""
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
