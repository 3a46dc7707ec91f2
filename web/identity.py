"""Which conversation a widget holds and which customer it speaks for: from its cookie, or from its token.

Two ways to hold a conversation, one set of rules:
- **Cookie** (the widget served from ShopDesk's own origin, e.g. the demo storefront): the signed Flask
  session cookie keeps the conversation id and the signed-in customer, with a CSRF token for writes.
- **Widget token** (the widget on the shop's own site, another origin): browsers that block third-party
  cookies would lose a cookie, so the widget keeps a signed widget token (store.tokens) and sends it as
  `Authorization: Bearer …`; the cookie is then never read. No cookie means no ambient credential for another
  site to ride on, so these requests need no CSRF token.

The conversation id is minted here, so a browser can only ever read back the transcript and attachments of
its own conversation. The widget gets a signed session token for it (store.tokens), the only thing that lets
a socket.io client join it. A conversation never changes hands: when its customer signs out or another one
signs in, it is revoked (store.security; its session and customer tokens stop working at once) and a new
one starts.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass

from flask import abort, current_app, g, request, session
from sqlalchemy.exc import IntegrityError

from store.security import is_revoked, revoke_conversation
from store.tokens import issue_customer_token, issue_session_token, issue_widget_token, verify_widget_token
from web.cross_origin import is_cross_origin
from web.store_access import store_session, store_transaction

CONVERSATION_KEY = "conversation_id"
CUSTOMER_KEY = "customer_id"
CSRF_KEY = "csrf"
CSRF_HEADER = "X-ShopDesk-CSRF"


@dataclass
class Holder:
    """What this request's widget holds (cached per request in flask.g)."""

    conversation_id: str
    customer_id: int | None
    by_token: bool


def holder() -> Holder:
    current = g.get("shopdesk_holder")
    if current is None:
        current = g.shopdesk_holder = _from_token() if uses_token() else _from_cookie()
    return current


def uses_token() -> bool:
    """Token mode: the widget sent its token, or it is on another site (where its cookie would not come)."""
    return _bearer() is not None or is_cross_origin()


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _from_token() -> Holder:
    token = _bearer()
    held = verify_widget_token(token, key=_signing_key()) if token else None
    if held is not None and not _revoked(held[0]):
        return Holder(held[0], held[1], by_token=True)
    return Holder(uuid.uuid4().hex, None, by_token=True)  # none, forged, expired or signed out of: a new one


def _from_cookie() -> Holder:
    cid = session.get(CONVERSATION_KEY)
    customer = session.get(CUSTOMER_KEY)
    held = Holder(cid if isinstance(cid, str) else "", customer if isinstance(customer, int) else None, False)
    if not held.conversation_id or _revoked(held.conversation_id):
        g.shopdesk_holder = held
        new_conversation()
    return held


def _revoked(cid: str) -> bool:
    with store_session() as s:
        return is_revoked(s, cid)


def conversation_id() -> str:
    """This widget's conversation id, created on first use (and anew if the old one was revoked)."""
    return holder().conversation_id


def signed_in_customer() -> int | None:
    return holder().customer_id


def new_conversation() -> str:
    held = holder()
    held.conversation_id = uuid.uuid4().hex
    if not held.by_token:
        session[CONVERSATION_KEY] = held.conversation_id
        session.permanent = True
    return held.conversation_id


def _signing_key() -> str | None:
    return current_app.config.get("SHOPDESK_SIGNING_KEY") or None


def session_token(cid: str) -> str:
    """What the widget sends in socket.io's `session_request` to join conversation `cid`."""
    return issue_session_token(cid, key=_signing_key())


def customer_token(customer_id: int, cid: str) -> str:
    """The signed-in shopper, vouched for in conversation `cid` only."""
    return issue_customer_token(customer_id, cid, key=_signing_key())


def widget_token() -> str | None:
    """In token mode, what the widget keeps and sends next time (its conversation and customer); else None."""
    held = holder()
    return issue_widget_token(held.conversation_id, held.customer_id, key=_signing_key()) if held.by_token else None


def end_conversation() -> None:
    """Revoke this widget's current conversation (its tokens stop working)."""
    try:
        with store_transaction() as s:
            revoke_conversation(s, holder().conversation_id)
    except IntegrityError:  # a concurrent sign-out (double submit) revoked it first
        pass


def set_customer(customer_id: int | None) -> None:
    """The customer this widget speaks for from now on; a verified chat is never handed to someone else."""
    held = holder()
    if held.customer_id is not None and held.customer_id != customer_id:
        end_conversation()
        new_conversation()
    _keep_customer(customer_id)


def _keep_customer(customer_id: int | None) -> None:
    held = holder()
    held.customer_id = customer_id
    if not held.by_token:
        if customer_id is None:
            session.pop(CUSTOMER_KEY, None)
        else:
            session[CUSTOMER_KEY] = customer_id


def sign_in(customer_id: int) -> None:
    """The demo storefront's sign-in: switching to a different shopper starts a new conversation."""
    set_customer(customer_id)


def sign_out() -> None:
    """Signing out also ends the conversation, so the next visitor doesn't inherit a verified chat."""
    end_conversation()
    _keep_customer(None)
    new_conversation()


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(24)
    return token


def require_csrf() -> None:
    """Abort with 403 unless a cookie-held request carries its session's CSRF token (form field or header)."""
    if holder().by_token:
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, description="Your session expired or the request did not come from this site. Reload the page.")
