"""Signed customer tokens: how the shop's own site vouches for a signed-in shopper.

The storefront (or any shop backend holding SHOPDESK_SIGNING_KEY) issues a token for the customer it
has authenticated; channels pass it to Rasa as message metadata (`customer_token`); the action server
verifies signature and age before treating the conversation as that customer. Nothing a user types can
set the verified customer: only a valid token or the order-number-plus-email check can.
"""

from __future__ import annotations

import os

from itsdangerous import BadSignature, URLSafeTimedSerializer

TOKEN_SALT = "shopdesk-customer-v1"
DEFAULT_MAX_AGE_S = 12 * 3600
METADATA_KEY = "customer_token"


class SigningKeyMissing(RuntimeError):
    pass


def signing_key() -> str:
    key = os.environ.get("SHOPDESK_SIGNING_KEY", "")
    if len(key) < 16:
        raise SigningKeyMissing("SHOPDESK_SIGNING_KEY is not set (scripts/setup.sh writes one into .env)")
    return key


def _serializer(key: str | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key or signing_key(), salt=TOKEN_SALT)


def issue_customer_token(customer_id: int, key: str | None = None) -> str:
    return _serializer(key).dumps({"cid": int(customer_id)})


def verify_customer_token(token: object, key: str | None = None, max_age_s: int = DEFAULT_MAX_AGE_S) -> int | None:
    """The customer id in a valid, unexpired token; None for anything else (never raises on bad input)."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    try:
        data = _serializer(key).loads(token, max_age=max_age_s)
    except BadSignature:
        return None
    cid = data.get("cid") if isinstance(data, dict) else None
    return cid if isinstance(cid, int) else None
