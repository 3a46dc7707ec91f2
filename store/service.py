"""The SQL order backend: the order desk's business rules on ShopDesk's own store database.

Actions, the console and tests reach it through `store.backend.OrderBackend` (whose docstring says what every
call promises); it knows nothing about Rasa or HTTP. Every method opens its own transaction, enforces
ownership (a customer only ever reaches their own orders) and the shop's policies (store.rules), and returns
views, never ORM objects. Rule violations raise `OrderDeskError` subclasses whose message is safe to show to
the customer. The identity check's throttle is store.verification's, shared with the HTTP backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from store.addresses import MAX_ADDRESS_LENGTH, AddressError, address_problem, parse_address
from store.backend import check_new_address
from store.db import session_factory
from store.errors import BackendUnavailable, NotAllowed, OrderDeskError, OrderNotFound
from store.models import (
    Customer,
    Invoice,
    Order,
    OrderStatus,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)
from store.rules import address_change_blocker as _address_change_blocker
from store.rules import cancellation_blocker as _cancellation_blocker
from store.rules import return_blocker as _return_blocker
from store.rules import return_window_days
from store.verification import (
    LOCKED_OUT_MESSAGE,
    MAX_FAILED_VERIFICATIONS,
    MAX_FAILED_VERIFICATIONS_PER_DAY,
    VERIFICATION_LIMITS,
    VERIFICATION_LOCKOUT,
    VERIFY_SCOPE,
    IdentityChecks,
    normalize_email,
    normalize_order_number,
    verification_keys,
)
from store.views import (
    AddressCheck,
    CustomerView,
    InvoiceView,
    OrderView,
    RefundView,
    ReturnView,
    order_country,
    order_view,
    refund_view,
    return_view,
)

REFUND_TRANSITIONS: dict[RefundStatus, set[RefundStatus]] = {
    RefundStatus.PENDING: {RefundStatus.PROCESSING, RefundStatus.FAILED},
    RefundStatus.PROCESSING: {RefundStatus.COMPLETED, RefundStatus.FAILED},
    RefundStatus.FAILED: {RefundStatus.PROCESSING},
    RefundStatus.COMPLETED: set(),
}


class OrderDesk:
    """Business operations on orders, each in its own transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session] | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self._sessions = sessions or session_factory()
        self._now = clock
        self._identity = IdentityChecks(self._sessions, self.now)

    def now(self) -> datetime:
        """The desk's clock (answers about lateness use the same "now" as the rules)."""
        return self._now()

    # --- identity -------------------------------------------------------------------------------

    def customer(self, customer_id: int) -> CustomerView | None:
        with self._sessions() as s:
            c = s.get(Customer, customer_id)
            return CustomerView(c.id, c.name, c.email, c.country) if c else None

    def verify_owner(self, conversation_id: str, order_number: str, email: str,
                     client: str | None = None) -> int | None:
        """The customer id when `email` is the email on `order_number`, else None (a failure is recorded).
        Throttled and locked out as store.verification says (NotAllowed, unevaluated, while locked out)."""
        return self._identity.verify(conversation_id, order_number, email, client, self.owner_of)

    def is_locked_out(self, conversation_id: str, order_number: str | None = None, email: str | None = None,
                      client: str | None = None) -> bool:
        """Whether a check with these details would be refused now (the same keys verify_owner counts)."""
        return self._identity.is_locked_out(conversation_id, order_number, email, client)

    def owner_of(self, order_number: str, email: str) -> int | None:
        """The id of the customer whose email (any case) is on `order_number`, else None. Unthrottled: only
        for verify_owner and for a server that does its own throttling (store.reference_order_api)."""
        number, address = normalize_order_number(order_number), normalize_email(email)
        if not number or not address:
            return None
        with self._sessions() as s:
            return s.scalar(
                select(Customer.id)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.number == number, func.lower(Customer.email) == address)
            )

    # --- reading --------------------------------------------------------------------------------

    def order(self, customer_id: int, order_number: str) -> OrderView:
        with self._sessions() as s:
            return order_view(self._owned_order(s, customer_id, order_number))

    def recent_orders(self, customer_id: int, limit: int = 5) -> list[OrderView]:
        with self._sessions() as s:
            orders = s.scalars(
                select(Order).where(Order.customer_id == customer_id)
                .order_by(Order.placed_at.desc()).limit(max(1, min(limit, 20)))
            ).all()
            return [order_view(o) for o in orders]

    def invoice(self, customer_id: int, reference: str) -> InvoiceView:
        """An invoice by its own number (INV-536365) or by its order's number."""
        with self._sessions() as s:
            ref = reference.strip().upper()
            invoice = s.scalar(select(Invoice).where(Invoice.number == ref))
            if invoice is None:
                number = normalize_order_number(ref.removeprefix("INV-"))
                invoice = s.scalar(select(Invoice).join(Order).where(Order.number == (number or "")))
            if invoice is None or invoice.order.customer_id != customer_id:
                raise NotAllowed(f"I couldn't find an invoice {reference} on your account.")
            o = invoice.order
            return InvoiceView(invoice.number, o.number, invoice.issued_at, invoice.amount, o.currency)

    def refunds(self, customer_id: int, order_number: str | None = None) -> list[RefundView]:
        with self._sessions() as s:
            query = select(Refund).join(Order).where(Order.customer_id == customer_id)
            if order_number:
                query = query.where(Order.id == self._owned_order(s, customer_id, order_number).id)
            return [refund_view(r) for r in s.scalars(query.order_by(Refund.created_at.desc())).all()]

    def returns(self, customer_id: int) -> list[ReturnView]:
        with self._sessions() as s:
            query = (select(ReturnRequest).join(Order).where(Order.customer_id == customer_id)
                     .order_by(ReturnRequest.created_at.desc()))
            return [return_view(r) for r in s.scalars(query).all()]

    # --- rules, asked before asking the customer to confirm --------------------------------------

    def cancellation_blocker(self, customer_id: int, order_number: str) -> str | None:
        with self._sessions() as s:
            return _cancellation_blocker(self._owned_order(s, customer_id, order_number))

    def address_change_blocker(self, customer_id: int, order_number: str) -> str | None:
        with self._sessions() as s:
            return _address_change_blocker(self._owned_order(s, customer_id, order_number))

    def return_blocker(self, customer_id: int, order_number: str) -> str | None:
        with self._sessions() as s:
            return _return_blocker(self._owned_order(s, customer_id, order_number), self._now())

    # --- changing -------------------------------------------------------------------------------

    def cancel_order(self, customer_id: int, order_number: str) -> RefundView:
        """Cancel a not-yet-shipped order; the payment is refunded in full."""
        with self._sessions.begin() as s:
            order = self._owned_order(s, customer_id, order_number, for_update=True)
            if blocker := _cancellation_blocker(order):
                raise NotAllowed(blocker)
            now = self._now()
            order.status = OrderStatus.CANCELLED
            order.cancelled_at = now
            refund = Refund(order=order, amount=order.total, status=RefundStatus.PROCESSING,
                            created_at=now, updated_at=now)
            s.add(refund)
            s.flush()
            return refund_view(refund)

    def check_new_address(self, customer_id: int | None, order_number: str | None, address: object) -> AddressCheck:
        """`address` parsed and checked for this order's delivery (its country is kept), as it would be stored."""
        return check_new_address(self, customer_id, order_number, address)

    def change_shipping_address(self, customer_id: int, order_number: str, address: str) -> OrderView:
        """Redirect a not-yet-shipped order: the address is parsed, checked and stored in the shop's format."""
        with self._sessions.begin() as s:
            order = self._owned_order(s, customer_id, order_number, for_update=True)
            if blocker := _address_change_blocker(order):
                raise NotAllowed(blocker)
            try:
                parsed = parse_address(address, order_country(order) or None)
            except AddressError as problem:
                raise NotAllowed(str(problem)) from problem
            order.shipping_address = parsed.formatted
            s.flush()
            return order_view(order)

    def open_return(self, customer_id: int, order_number: str, reason: str) -> ReturnView:
        """Open a return for a delivered order within the window; its refund starts as pending."""
        reason = " ".join((reason or "").split())[:500] or "not given"
        with self._sessions.begin() as s:
            order = self._owned_order(s, customer_id, order_number, for_update=True)
            now = self._now()
            if blocker := _return_blocker(order, now):
                raise NotAllowed(blocker)
            total = order.total
            request = ReturnRequest(order=order, status=ReturnStatus.REQUESTED, reason=reason,
                                    created_at=now, updated_at=now)
            request.refund = Refund(order=order, amount=total, status=RefundStatus.PENDING,
                                    created_at=now, updated_at=now)
            s.add(request)
            s.flush()
            return return_view(request)

    def advance_refund(self, refund_id: int, status: RefundStatus) -> RefundView:
        """Move a refund through its states (staff/payment-provider side, never the customer)."""
        with self._sessions.begin() as s:
            refund = s.get(Refund, refund_id)
            if refund is None:
                raise NotAllowed(f"There is no refund {refund_id}.")
            if status not in REFUND_TRANSITIONS[refund.status]:
                raise NotAllowed(f"A {refund.status.value} refund can't become {status.value}.")
            refund.status = status
            refund.updated_at = self._now()
            if status is RefundStatus.COMPLETED and refund.return_request is not None:
                refund.return_request.status = ReturnStatus.COMPLETED
                refund.order.status = OrderStatus.RETURNED
            s.flush()
            return refund_view(refund)

    # --- internals ------------------------------------------------------------------------------

    @staticmethod
    def _owned_order(s: Session, customer_id: int, order_number: str, for_update: bool = False) -> Order:
        number = normalize_order_number(order_number)
        query = select(Order).where(Order.number == (number or ""), Order.customer_id == customer_id)
        if for_update:
            query = query.with_for_update()
        order = s.scalar(query) if number else None
        if order is None:
            raise OrderNotFound(number or str(order_number)[:40])
        return order


__all__ = [
    "LOCKED_OUT_MESSAGE",
    "MAX_ADDRESS_LENGTH",
    "MAX_FAILED_VERIFICATIONS",
    "MAX_FAILED_VERIFICATIONS_PER_DAY",
    "VERIFICATION_LIMITS",
    "VERIFICATION_LOCKOUT",
    "VERIFY_SCOPE",
    "AddressCheck",
    "BackendUnavailable",
    "CustomerView",
    "NotAllowed",
    "OrderDesk",
    "OrderDeskError",
    "OrderNotFound",
    "_address_change_blocker",
    "_cancellation_blocker",
    "_return_blocker",
    "address_problem",
    "normalize_email",
    "normalize_order_number",
    "return_window_days",
    "verification_keys",
]
