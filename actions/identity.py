"""Who is this conversation's customer, as far as we can prove it.

Two proofs count: a signed customer token from the shop's site in the message metadata
(store.tokens), or an order number together with the email on that order (checked by the order desk,
then remembered in the `customer_id` slot, which only actions can set). Anything a user types is never
taken as identity.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from store.tokens import METADATA_KEY, SigningKeyMissing, verify_customer_token

CUSTOMER_SLOT = "customer_id"


def token_customer_id(tracker: Tracker) -> int | None:
    """The customer vouched for by a valid token on the latest message (or the session start)."""
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
            customer_id = verify_customer_token(token)
        except SigningKeyMissing:
            return None
        if customer_id is not None:
            return customer_id
    return None


def verified_customer_id(tracker: Tracker) -> int | None:
    """The verified customer of this conversation, or None."""
    from_token = token_customer_id(tracker)
    if from_token is not None:
        return from_token
    value = tracker.get_slot(CUSTOMER_SLOT)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
