"""Who is this conversation's customer, as far as we can prove it.

Two proofs count: a signed customer token from the shop's site in the message metadata (store.tokens),
bound to *this* conversation (`tracker.sender_id`), or an order number together with the email on that
order (checked by the order desk, then remembered in the `customer_id` slot, which only actions can set).
A conversation the shop has revoked (signed out of, store.security) has no verified customer at all, so
neither a kept token nor the slot of the old chat proves anything after sign-out. Anything a user types is
never taken as identity.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker

from store.db import session_factory
from store.security import is_revoked
from store.tokens import METADATA_KEY, SigningKeyMissing, verify_customer_token

CUSTOMER_SLOT = "customer_id"
logger = logging.getLogger(__name__)


def conversation_revoked(conversation_id: str) -> bool:
    """Revoked (signed out of)? An unreadable store counts as revoked: identity is never assumed."""
    try:
        with session_factory()() as s:
            return is_revoked(s, conversation_id)
    except Exception:
        logger.exception("cannot read revoked conversations; treating %s as unverified", conversation_id)
        return True


def token_customer_id(tracker: Tracker) -> int | None:
    """The customer vouched for by a valid token bound to this conversation, on the latest message (or the
    session start)."""
    candidates: list[Any] = []
    latest = tracker.latest_message or {}
    candidates.append((latest.get("metadata") or {}).get(METADATA_KEY))
    session_metadata = tracker.get_slot("session_started_metadata") or {}
    if isinstance(session_metadata, dict):
        candidates.append(session_metadata.get(METADATA_KEY))
    for token in candidates:
        if not token:
            continue
        try:
            customer_id = verify_customer_token(token, tracker.sender_id)
        except SigningKeyMissing:
            return None
        if customer_id is not None:
            return customer_id
    return None


def verified_customer_id(tracker: Tracker) -> int | None:
    """The verified customer of this conversation, or None (always None once the conversation is revoked)."""
    from_token = token_customer_id(tracker)
    value = tracker.get_slot(CUSTOMER_SLOT)
    try:
        from_slot = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        from_slot = None
    verified = from_token if from_token is not None else from_slot
    if verified is None or conversation_revoked(str(tracker.sender_id)):
        return None
    return verified
