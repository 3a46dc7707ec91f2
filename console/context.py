"""The customer's context for the agent: who they are (only if verified), recent orders, open returns.

Identity is what the bot proved, never what the customer typed: the handoff's verified customer, the
`customer_id` slot (set only by actions after an order number + email check) or a valid signed token in
the latest message's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.service import CustomerView, OrderDesk
from store.tokens import METADATA_KEY, SigningKeyMissing, verify_customer_token
from store.views import OrderView, ReturnView

OPEN_RETURN_STATUSES = {"requested", "approved", "received"}


@dataclass(frozen=True)
class CustomerContext:
    customer: CustomerView | None
    how_verified: str = ""
    orders: list[OrderView] = field(default_factory=list)
    open_returns: list[ReturnView] = field(default_factory=list)


def verified_customer(handoff_customer_id: int | None, slot_value: Any, metadata: dict[str, Any],
                      signing_key: str, conversation_id: str = "") -> tuple[int | None, str]:
    """`conversation_id`: a token counts only in the conversation it was issued for (store.tokens)."""
    if handoff_customer_id is not None:
        return handoff_customer_id, "verified by the assistant"
    try:
        if slot_value not in (None, ""):
            return int(slot_value), "verified by order number and email"
    except (TypeError, ValueError):
        pass
    token = metadata.get(METADATA_KEY)
    if token and signing_key:
        try:
            customer_id = verify_customer_token(token, conversation_id, signing_key)
        except SigningKeyMissing:
            customer_id = None
        if customer_id is not None:
            return customer_id, "signed in on the shop's site"
    return None, ""


def customer_context(desk: OrderDesk, customer_id: int | None, how: str) -> CustomerContext:
    if customer_id is None:
        return CustomerContext(customer=None)
    customer = desk.customer(customer_id)
    if customer is None:
        return CustomerContext(customer=None)
    returns = [r for r in desk.returns(customer_id) if r.status in OPEN_RETURN_STATUSES]
    return CustomerContext(customer=customer, how_verified=how, orders=desk.recent_orders(customer_id, limit=5),
                           open_returns=returns)
