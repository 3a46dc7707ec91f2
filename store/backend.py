"""The order backend: everything the order desk needs from wherever a shop keeps its orders.

Two implementations: `store.service.OrderDesk` (the SQL store ShopDesk seeds or imports into) and
`store.http_backend.HttpOrderBackend` (the shop's own order API, contract in docs/order-api.md). The actions
and the agent console get one from `configured_backend()` and only ever use what `OrderBackend` promises.

Promises every implementation keeps:
- **Ownership.** Every call after `verify_owner` takes the verified customer's id and reaches only that
  customer's orders, invoices, refunds and returns. Someone else's order and an order that does not exist are
  one answer, `OrderNotFound`, in the same words ("nothing to learn by guessing numbers").
- **Answers are views** (store.views): frozen dataclasses, never ORM objects or raw JSON.
- **Refusals are `OrderDeskError`s** whose message is written for the customer: `OrderNotFound`, or
  `NotAllowed` when a rule refuses (already shipped, outside the return window, a bad address).
- **An unreachable backend raises `BackendUnavailable`**, never a crash and never a made-up answer: it is
  not an `OrderDeskError`, so no caller mistakes an outage for "no such order".
- **Changes happen once, or not at all**, and are visible to every later read.

What stays in ShopDesk whatever the backend (and why): the identity check's throttle and lockout
(store.verification: it must count guesses per conversation and client and refuse before anything is
asked), binding a customer to a conversation (signed tokens, store.tokens, and sign-out, store.security), and
the wording of the rules (store.rules), so a connected shop's customers are refused the same things in the
same words. These use ShopDesk's own database, which in connect mode holds no orders.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from store.errors import BackendUnavailable, NotAllowed, OrderDeskError, OrderNotFound
from store.views import AddressCheck, CustomerView, InvoiceView, OrderView, RefundView, ReturnView

BACKEND_ENV = "SHOPDESK_ORDER_BACKEND"  # sql (default) | http
API_URL_ENV = "SHOPDESK_ORDER_API_URL"
API_TOKEN_ENV = "SHOPDESK_ORDER_API_TOKEN"
API_TIMEOUT_ENV = "SHOPDESK_ORDER_API_TIMEOUT_S"
API_CA_BUNDLE_ENV = "SHOPDESK_ORDER_API_CA_BUNDLE"  # optional: the CA file of an https API's certificate


@runtime_checkable
class OrderBackend(Protocol):
    """What the order desk offers the actions and the console (see the module docstring for the promises)."""

    def now(self) -> datetime:
        """The clock the rules use (answers about lateness use the same "now")."""
        ...

    # --- identity ----------------------------------------------------------------------------------

    def verify_owner(self, conversation_id: str, order_number: str, email: str,
                     client: str | None = None) -> int | None:
        """The customer id when `email` is the email on `order_number`, else None (a failure, counted).
        Raises NotAllowed, unevaluated, while these details are locked out (store.verification)."""
        ...

    def is_locked_out(self, conversation_id: str, order_number: str | None = None, email: str | None = None,
                      client: str | None = None) -> bool:
        """Whether a check with these details would be refused now."""
        ...

    def customer(self, customer_id: int) -> CustomerView | None:
        """The customer, or None when there is none with that id."""
        ...

    # --- reading -----------------------------------------------------------------------------------

    def order(self, customer_id: int, order_number: str) -> OrderView:
        """The customer's order (any way of writing its number: '#581142', 'order 581142'). OrderNotFound."""
        ...

    def recent_orders(self, customer_id: int, limit: int = 5) -> list[OrderView]:
        """The customer's newest orders first, at most `limit` (1..20); [] for none or no such customer."""
        ...

    def invoice(self, customer_id: int, reference: str) -> InvoiceView:
        """An invoice by its own number (INV-536365) or by its order's number. NotAllowed when the customer
        has no such invoice (including "not theirs")."""
        ...

    def refunds(self, customer_id: int, order_number: str | None = None) -> list[RefundView]:
        """The customer's refunds, newest first; only one order's when `order_number` (OrderNotFound)."""
        ...

    def returns(self, customer_id: int) -> list[ReturnView]:
        """The customer's returns, newest first."""
        ...

    # --- rules, asked before the customer is asked to confirm --------------------------------------------

    def cancellation_blocker(self, customer_id: int, order_number: str) -> str | None:
        """Why the order can't be cancelled (a message for the customer), or None. OrderNotFound."""
        ...

    def address_change_blocker(self, customer_id: int, order_number: str) -> str | None:
        """Why the order's delivery address can't be changed, or None. OrderNotFound."""
        ...

    def return_blocker(self, customer_id: int, order_number: str) -> str | None:
        """Why no return can be opened for the order, or None. OrderNotFound."""
        ...

    def check_new_address(self, customer_id: int | None, order_number: str | None,
                          address: object) -> AddressCheck:
        """`address` parsed and checked for this order's delivery (its country kept), as it would be stored."""
        ...

    # --- changing (each only after the customer's explicit yes) ---------------------------------------

    def cancel_order(self, customer_id: int, order_number: str) -> RefundView:
        """Cancel a not-yet-shipped order; returns the full refund it starts. NotAllowed, OrderNotFound."""
        ...

    def change_shipping_address(self, customer_id: int, order_number: str, address: str) -> OrderView:
        """Redirect a not-yet-shipped order to `address` (parsed, checked, stored in the shop's format);
        returns the changed order. NotAllowed (with what to fix), OrderNotFound."""
        ...

    def open_return(self, customer_id: int, order_number: str, reason: str) -> ReturnView:
        """Open a return for a delivered order inside the return window, with a pending refund; `reason` is
        the customer's own words (tidied, at most 500 characters). NotAllowed, OrderNotFound."""
        ...


def check_new_address(backend: OrderBackend, customer_id: int | None, order_number: str | None,
                      address: object) -> AddressCheck:
    """The address check both backends share: the order's country when the order is known, else none."""
    from store.addresses import AddressError, parse_address

    country = None
    if customer_id is not None and order_number:
        try:
            country = backend.order(customer_id, order_number).country or None
        except OrderDeskError:
            country = None
    try:
        return AddressCheck(parse_address(str(address or ""), country).formatted, None)
    except AddressError as problem:
        return AddressCheck(None, str(problem))


class BackendMisconfigured(RuntimeError):
    """The environment names a backend that can't be built (unknown kind, no URL, no token)."""


def configured_backend(sessions: sessionmaker[Session] | None = None) -> OrderBackend:
    """The backend $SHOPDESK_ORDER_BACKEND names: `sql` (default: the store at $SHOPDESK_DATABASE_URL) or
    `http` (the shop's order API at $SHOPDESK_ORDER_API_URL, bearer secret $SHOPDESK_ORDER_API_TOKEN, per-call
    timeout $SHOPDESK_ORDER_API_TIMEOUT_S, CA file $SHOPDESK_ORDER_API_CA_BUNDLE). `sessions`: ShopDesk's own
    database (default: the configured one), which the http backend uses for the identity throttle only."""
    kind = os.environ.get(BACKEND_ENV, "sql").strip().lower() or "sql"
    if kind == "sql":
        from store.service import OrderDesk

        return OrderDesk(sessions)
    if kind == "http":
        from store.http_backend import HttpOrderBackend

        url = os.environ.get(API_URL_ENV, "").strip()
        token = os.environ.get(API_TOKEN_ENV, "").strip()
        if not url or not token:
            raise BackendMisconfigured(f"{BACKEND_ENV}=http needs {API_URL_ENV} and {API_TOKEN_ENV}")
        timeout = os.environ.get(API_TIMEOUT_ENV, "").strip()
        try:
            seconds = float(timeout) if timeout else None
        except ValueError:
            raise BackendMisconfigured(f"{API_TIMEOUT_ENV} must be a number of seconds, not {timeout!r}") from None
        return HttpOrderBackend(url, token, sessions=sessions, timeout_s=seconds,
                                ca_bundle=os.environ.get(API_CA_BUNDLE_ENV, "").strip() or None)
    raise BackendMisconfigured(f"{BACKEND_ENV} must be 'sql' or 'http', not {kind!r}")


__all__ = ["BackendMisconfigured", "BackendUnavailable", "NotAllowed", "OrderBackend", "OrderDeskError",
           "OrderNotFound", "check_new_address", "configured_backend"]
