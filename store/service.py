"""The order desk's business rules, in plain Python.

Actions, the console and tests call this layer; it knows nothing about Rasa or HTTP. Every method opens
its own transaction, enforces ownership (a customer only ever reaches their own orders) and the shop's
policies, and returns views, never ORM objects. Rule violations raise `OrderDeskError` subclasses whose
message is safe to show to the customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from shop_profile import current_profile
from store.addresses import MAX_ADDRESS_LENGTH, AddressError, address_problem, parse_address
from store.db import session_factory
from store.models import (
    Customer,
    Invoice,
    Order,
    OrderStatus,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
    VerificationAttempt,
)
from store.security import ThrottleEvent, recent_failures, throttle_key
from store.views import (
    InvoiceView,
    OrderView,
    RefundView,
    ReturnView,
    order_country,
    order_view,
    refund_view,
    return_view,
)

# Identity checks (order number + email): every failed check counts against the email, the order number,
# the client address and the conversation it came from; once any of them has MAX_FAILED_VERIFICATIONS
# failures within VERIFICATION_LOCKOUT, further checks touching it are refused unevaluated. So tries
# 1..MAX are evaluated and the next one is not, whichever conversation, channel or process it arrives on.
# A second, daily cap stops the slow drip that the short window alone allows (3 tries every 15 minutes would
# still be 288 guesses a day against one known email).
MAX_FAILED_VERIFICATIONS = 3
VERIFICATION_LOCKOUT = timedelta(minutes=15)
MAX_FAILED_VERIFICATIONS_PER_DAY = 10
VERIFICATION_LIMITS = ((MAX_FAILED_VERIFICATIONS, VERIFICATION_LOCKOUT),
                       (MAX_FAILED_VERIFICATIONS_PER_DAY, timedelta(days=1)))
VERIFY_SCOPE = "verify"
LOCKED_OUT_MESSAGE = (
    f"Too many unsuccessful attempts. For your security, order look-ups with these details are paused for "
    f"{VERIFICATION_LOCKOUT.seconds // 60} minutes (for a day after repeated attempts). Please try again later "
    f"or ask to talk to a person."
)

_ORDER_NUMBER = re.compile(r"^[A-Za-z]?\d{4,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")

REFUND_TRANSITIONS: dict[RefundStatus, set[RefundStatus]] = {
    RefundStatus.PENDING: {RefundStatus.PROCESSING, RefundStatus.FAILED},
    RefundStatus.PROCESSING: {RefundStatus.COMPLETED, RefundStatus.FAILED},
    RefundStatus.FAILED: {RefundStatus.PROCESSING},
    RefundStatus.COMPLETED: set(),
}


class OrderDeskError(Exception):
    """A request the shop's rules refuse; the message is written for the customer."""


class OrderNotFound(OrderDeskError):
    def __init__(self, number: str) -> None:
        # The same words for "no such order" and "not yours": nothing to learn by guessing numbers.
        super().__init__(f"I couldn't find an order {number} on your account.")


class NotAllowed(OrderDeskError):
    pass


def normalize_order_number(text: str | None) -> str | None:
    """'#536365', ' 536365 ' and 'order 536365' all mean 536365; None when it can't be an order number."""
    if not text:
        return None
    candidate = re.sub(r"(?i)^(order|no\.?|number|#)\s*", "", text.strip()).strip().lstrip("#").strip()
    return candidate.upper() if _ORDER_NUMBER.match(candidate) else None


def normalize_email(text: str | None) -> str | None:
    if not text:
        return None
    candidate = text.strip().strip("<>.,;").lower()
    return candidate if len(candidate) <= 254 and _EMAIL.match(candidate) else None


@dataclass(frozen=True)
class AddressCheck:
    """A new delivery address as it would be stored, or why it can't be used (a message for the customer)."""

    address: str | None
    problem: str | None


def verification_keys(conversation_id: str | None, order_number: str | None, email: str | None,
                      client: str | None = None) -> list[str]:
    """The throttle keys of one identity check: what it tried, where from, and in which conversation."""
    number = normalize_order_number(order_number) or (order_number or "").strip()[:64]
    address = normalize_email(email) or (email or "").strip()[:254]
    parts = {"order": number, "email": address, "client": (client or "").strip()[:255],
             "conversation": (conversation_id or "").strip()[:255]}
    return [throttle_key(kind, value) for kind, value in parts.items() if value]


def _over_a_limit(session: Session, keys: list[str], now: datetime, counting_this_one: bool) -> bool:
    """Whether any key has used up one of VERIFICATION_LIMITS (with `counting_this_one`, the check being made
    is already recorded, so reaching the limit is still allowed and only going past it is not)."""
    for limit, window in VERIFICATION_LIMITS:
        failures = recent_failures(session, VERIFY_SCOPE, keys, window, now)
        if failures > limit or (failures == limit and not counting_this_one):
            return True
    return False


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    email: str
    country: str


class OrderDesk:
    """Business operations on orders, each in its own transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session] | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self._sessions = sessions or session_factory()
        self._now = clock

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

        Raises NotAllowed, before anything is looked up, while the email, the order number, the client
        address or the conversation has MAX_FAILED_VERIFICATIONS recent failures: the answer is the same
        whether the order exists or not, and a success never clears earlier failures.

        The failure is recorded provisionally *before* the count, so concurrent checks (several action
        servers) see each other and at most MAX_FAILED_VERIFICATIONS of them get evaluated; a refused or
        successful check withdraws its own provisional rows (refusals are not counted, or a blocked client
        could lock out any customer's email without a single evaluated guess).
        """
        keys = verification_keys(conversation_id, order_number, email, client)
        now = self._now()
        with self._sessions.begin() as s:
            pending = [ThrottleEvent(scope=VERIFY_SCOPE, key=key, occurred_at=now) for key in keys]
            s.add_all(pending)
            s.flush()
            pending_ids = [event.id for event in pending]
        try:
            with self._sessions.begin() as s:
                if _over_a_limit(s, keys, now, counting_this_one=True):
                    raise NotAllowed(LOCKED_OUT_MESSAGE)
                number, address = normalize_order_number(order_number), normalize_email(email)
                customer_id = None
                if number and address:
                    customer_id = s.scalar(
                        select(Customer.id)
                        .join(Order, Order.customer_id == Customer.id)
                        .where(Order.number == number, func.lower(Customer.email) == address)
                    )
                s.add(VerificationAttempt(conversation_id=conversation_id, succeeded=customer_id is not None,
                                          attempted_at=now))
        except NotAllowed:
            self._withdraw(pending_ids)
            raise
        if customer_id is not None:
            self._withdraw(pending_ids)
        return customer_id

    def is_locked_out(self, conversation_id: str, order_number: str | None = None, email: str | None = None,
                      client: str | None = None) -> bool:
        """Whether a check with these details would be refused now (the same keys verify_owner counts)."""
        keys = verification_keys(conversation_id, order_number, email, client)
        with self._sessions() as s:
            return _over_a_limit(s, keys, self._now(), counting_this_one=False)

    def _withdraw(self, event_ids: list[int]) -> None:
        with self._sessions.begin() as s:
            s.execute(delete(ThrottleEvent).where(ThrottleEvent.id.in_(event_ids)))

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
        country = None
        if customer_id is not None and order_number:
            try:
                country = self.order(customer_id, order_number).country or None
            except OrderDeskError:
                country = None
        try:
            return AddressCheck(parse_address(str(address or ""), country).formatted, None)
        except AddressError as problem:
            return AddressCheck(None, str(problem))

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


def return_window_days() -> int:
    return current_profile().returns.window_days


def _cancellation_blocker(order: Order) -> str | None:
    match order.status:
        case OrderStatus.PROCESSING:
            return None
        case OrderStatus.CANCELLED:
            return f"Order {order.number} is already cancelled."
        case OrderStatus.SHIPPED:
            return (f"Order {order.number} has already shipped, so it can't be cancelled any more. "
                    f"Once it arrives you can return it within {return_window_days()} days for a full refund.")
        case _:
            return (f"Order {order.number} has already been {order.status.value}, so it can't be "
                    f"cancelled. You can start a return instead if it is within {return_window_days()} days of "
                    "delivery.")


def _address_change_blocker(order: Order) -> str | None:
    if order.status is OrderStatus.PROCESSING:
        return None
    return (f"Order {order.number} is {order.status.value}, so its delivery address can no longer be "
            "changed. Only orders that haven't shipped yet can be redirected.")


def _return_blocker(order: Order, now: datetime) -> str | None:
    if order.status is OrderStatus.PROCESSING:
        return (f"Order {order.number} hasn't shipped yet, so there's nothing to return and no refund to wait "
                "for: you can cancel it instead, free of charge and with a full refund.")
    if order.status is not OrderStatus.DELIVERED:
        return (f"Order {order.number} is {order.status.value}; returns can only be opened for "
                "delivered orders.")
    if any(r.status not in (ReturnStatus.REJECTED,) for r in order.returns):
        return f"A return for order {order.number} is already open."
    delivered = order.shipment.delivered_at if order.shipment else None
    window = return_window_days()
    if delivered is None or now - delivered > timedelta(days=window):
        return (f"Order {order.number} was delivered more than {window} days ago, so it is "
                "outside our return window.")
    return None


__all__ = [
    "LOCKED_OUT_MESSAGE",
    "MAX_ADDRESS_LENGTH",
    "MAX_FAILED_VERIFICATIONS",
    "MAX_FAILED_VERIFICATIONS_PER_DAY",
    "VERIFICATION_LOCKOUT",
    "AddressCheck",
    "CustomerView",
    "NotAllowed",
    "OrderDesk",
    "OrderDeskError",
    "OrderNotFound",
    "address_problem",
    "normalize_email",
    "normalize_order_number",
    "verification_keys",
]
