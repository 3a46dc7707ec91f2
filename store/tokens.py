"""Signed tokens: which conversation a web-chat client holds, and which shopper the shop's site vouches for.

- **Session tokens** prove that a socket.io client was handed its conversation id by the server (the web
  app's `/api/session`, or the channel itself when it mints a fresh id). Knowing an id is not enough to
  join its conversation: the socket.io channel joins a room only for a token that names that id.
- **Customer tokens** are issued by the storefront (or any shop backend holding SHOPDESK_SIGNING_KEY) for
  the shopper it has authenticated, *bound to one conversation id*: the id the action server sees as
  `tracker.sender_id` (a widget's 32-hex id, `rest:<sender>` over REST, `webhook:<sender>` for the
  webhook). Channels pass it as message metadata (`customer_token`); the action server honours it only in
  the conversation it names, and not once that conversation was revoked (signed out), so a token copied
  into another conversation or kept after sign-out proves nothing.
- **Widget tokens** are what a widget embedded on another site (no cookie reaches ShopDesk there) keeps and
  sends to the web app instead of its session cookie: the conversation it holds and the customer the shop's
  site vouched for in it, if any (web/identity.py).

Session tokens are verified inside the Rasa server (Python 3.10 env, no itsdangerous), so they are plain
stdlib HMAC-SHA256 over `id.timestamp`, with a key derived from SHOPDESK_SIGNING_KEY and the salt
"shopdesk-session-v1"; customer and widget tokens keep the itsdangerous format (imported only when used). Verifiers
never raise on bad input: anything malformed, forged or expired is None.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from typing import Any

TOKEN_SALT = "shopdesk-customer-v1"
WIDGET_SALT = "shopdesk-widget-v1"
SESSION_SALT = "shopdesk-session-v1"
DEFAULT_MAX_AGE_S = 12 * 3600
SESSION_MAX_AGE_S = 30 * 24 * 3600  # as long as the web app's session cookie lives
METADATA_KEY = "customer_token"
MAX_TOKEN_CHARS = 4096
MAX_CONVERSATION_CHARS = 255
CLOCK_SKEW_S = 60


class SigningKeyMissing(RuntimeError):
    pass


def signing_key() -> str:
    key = os.environ.get("SHOPDESK_SIGNING_KEY", "")
    if len(key) < 16:
        raise SigningKeyMissing("SHOPDESK_SIGNING_KEY is not set (scripts/setup.sh writes one into .env)")
    return key


# ---- session tokens (stdlib only) ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _session_mac(key: str, signed: str) -> str:
    derived = hashlib.sha256(SESSION_SALT.encode() + b"\0" + key.encode()).digest()
    return _b64(hmac.new(derived, signed.encode("ascii"), hashlib.sha256).digest())


def issue_session_token(conversation_id: str, key: str | None = None, now: float | None = None) -> str:
    """A token saying "the server gave this client `conversation_id`" (valid SESSION_MAX_AGE_S)."""
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_CHARS:
        raise ValueError("conversation ids are 1 to 255 characters")
    signed = f"{_b64(conversation_id.encode())}.{int(now if now is not None else time.time())}"
    return f"{signed}.{_session_mac(key or signing_key(), signed)}"


def verify_session_token(token: object, key: str | None = None, max_age_s: int = SESSION_MAX_AGE_S,
                         now: float | None = None) -> str | None:
    """The conversation id a valid, unexpired session token names; None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_session_mac(key or signing_key(), signed), parts[2]):
        return None
    age = (now if now is not None else time.time()) - int(parts[1])
    if age > max_age_s or age < -CLOCK_SKEW_S:
        return None
    try:
        conversation_id = _unb64(parts[0]).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return conversation_id if 0 < len(conversation_id) <= MAX_CONVERSATION_CHARS else None


# ---- customer tokens (itsdangerous) ----------------------------------------------------------------------------


def _serializer(key: str | None, salt: str = TOKEN_SALT) -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(key or signing_key(), salt=salt)


def issue_customer_token(customer_id: int, conversation_id: str, key: str | None = None) -> str:
    """A token vouching for `customer_id`, valid only in the conversation `conversation_id`."""
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_CHARS:
        raise ValueError("customer tokens are bound to a conversation id of 1 to 255 characters")
    return _serializer(key).dumps({"cid": int(customer_id), "conv": conversation_id})


def verify_customer_token(token: object, conversation_id: str, key: str | None = None,
                          max_age_s: int = DEFAULT_MAX_AGE_S) -> int | None:
    """The customer id of a valid, unexpired token bound to `conversation_id`; None for anything else."""
    from itsdangerous import BadData

    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    if not isinstance(conversation_id, str) or not conversation_id:
        return None
    try:
        data = _serializer(key).loads(token, max_age=max_age_s)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("conv") != conversation_id:
        return None
    cid = data.get("cid")
    return cid if isinstance(cid, int) and not isinstance(cid, bool) else None


# ---- widget tokens (itsdangerous) ------------------------------------------------------------------------------


def issue_widget_token(conversation_id: str, customer_id: int | None, key: str | None = None) -> str:
    """A token saying "this widget holds `conversation_id`, vouched for as `customer_id` (or anonymous)"."""
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_CHARS:
        raise ValueError("widget tokens name a conversation id of 1 to 255 characters")
    customer = None if customer_id is None else int(customer_id)
    return _serializer(key, WIDGET_SALT).dumps({"conv": conversation_id, "cid": customer})


def verify_widget_token(token: object, key: str | None = None,
                        max_age_s: int = SESSION_MAX_AGE_S) -> tuple[str, int | None] | None:
    """(conversation id, customer id or None) of a valid, unexpired widget token; None for anything else."""
    from itsdangerous import BadData

    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        data = _serializer(key, WIDGET_SALT).loads(token, max_age=max_age_s)
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    conversation, customer = data.get("conv"), data.get("cid")
    if not isinstance(conversation, str) or not 0 < len(conversation) <= MAX_CONVERSATION_CHARS:
        return None
    if customer is not None and (not isinstance(customer, int) or isinstance(customer, bool)):
        return None
    return conversation, customer
