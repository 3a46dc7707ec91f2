"""The customer's context for the agent: who they are (only if verified), recent orders, open returns.

Identity is what the bot proved, never what the customer typed: the handoff's verified customer, the
`customer_id` slot (set only by actions after an order number + email check) or a valid signed token in
the latest message's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.backend import OrderBackend
from store.errors import BackendUnavailable
from store.tokens import METADATA_KEY, SigningKeyMissing, verify_customer_token
from store.views import CustomerView, OrderView, ReturnView

OPEN_RETURN_STATUSES = {"requested", "approved", "received"}
ORDERS_UNREACHABLE = "The order system can't be reached right now, so this customer's orders can't be shown."


@dataclass(frozen=True)
class CustomerContext:
    customer: CustomerView | None
    how_verified: str = ""
    orders: list[OrderView] = field(default_factory=list)
    open_returns: list[ReturnView] = field(default_factory=list)
    problem: str = ""  # why the orders can't be shown (the shop's order API is unreachable), for the agent


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


def customer_context(desk: OrderBackend, customer_id: int | None, how: str) -> CustomerContext:
    """The context, or one saying the order system can't be reached (the page still works without it)."""
    if customer_id is None:
        return CustomerContext(customer=None)
    try:
        customer = desk.customer(customer_id)
        if customer is None:
            return CustomerContext(customer=None)
        returns = [r for r in desk.returns(customer_id) if r.status in OPEN_RETURN_STATUSES]
        orders = desk.recent_orders(customer_id, limit=5)
    except BackendUnavailable:
        return CustomerContext(customer=None, how_verified=how, problem=ORDERS_UNREACHABLE)
    return CustomerContext(customer=customer, how_verified=how, orders=orders, open_returns=returns)
