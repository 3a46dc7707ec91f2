"""The order API's JSON (docs/order-api.md) to and from the store's views, read strictly.

Writing (`*_json`) is what the reference server sends. Reading (`read_*`) is what HttpOrderBackend does
with a shop's answers: every field is checked for its type, its vocabulary (statuses) and its size, and
anything else raises `Malformed` naming the field, so a shop's API that drifts from the contract is a clear
error in the logs and "I can't reach the order system" for the customer, never a wrong answer or a crash.

Amounts are decimal strings ("23.40"; JSON numbers are accepted). Times are ISO 8601; one with a UTC offset
("2026-12-01T09:14:00+01:00", "...Z") is read as naive UTC, the store's convention (store.importers), one
without as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from store.addresses import country_at_end
from store.models import OrderStatus, RefundStatus, ReturnStatus, ShipmentStatus
from store.views import (
    CustomerView,
    InvoiceView,
    LineView,
    OrderView,
    RefundView,
    ReturnView,
    ShipmentView,
    TrackingEventView,
)

MAX_TEXT = 2000
MAX_ITEMS = 500
ORDER_STATUSES = frozenset(s.value for s in OrderStatus)
SHIPMENT_STATUSES = frozenset(s.value for s in ShipmentStatus)
RETURN_STATUSES = frozenset(s.value for s in ReturnStatus)
REFUND_STATUSES = frozenset(s.value for s in RefundStatus)
REFUND_REASONS = frozenset({"return", "cancellation"})
T = TypeVar("T")


class Malformed(ValueError):
    """A response that does not follow the contract; the message names the field."""


# --- writing (the reference server) ---------------------------------------------------------------------

def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_json(c: CustomerView) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "email": c.email, "country": c.country}


def refund_json(r: RefundView) -> dict[str, Any]:
    return {"id": r.id, "order_number": r.order_number, "amount": str(r.amount), "currency": r.currency,
            "status": r.status, "reason": r.reason, "return_status": r.return_status,
            "created_at": _time(r.created_at), "updated_at": _time(r.updated_at)}


def return_json(r: ReturnView) -> dict[str, Any]:
    return {"id": r.id, "order_number": r.order_number, "status": r.status, "reason": r.reason,
            "created_at": _time(r.created_at), "updated_at": _time(r.updated_at),
            "refund": refund_json(r.refund) if r.refund else None}


def invoice_json(i: InvoiceView) -> dict[str, Any]:
    return {"number": i.number, "order_number": i.order_number, "issued_at": _time(i.issued_at),
            "amount": str(i.amount), "currency": i.currency}


def order_json(o: OrderView) -> dict[str, Any]:
    shipment = None
    if o.shipment is not None:
        s = o.shipment
        shipment = {"carrier": s.carrier, "tracking_number": s.tracking_number, "status": s.status,
                    "shipped_at": _time(s.shipped_at), "estimated_delivery": _time(s.estimated_delivery),
                    "delivered_at": _time(s.delivered_at),
                    "events": [{"status": e.status, "occurred_at": _time(e.occurred_at), "location": e.location}
                               for e in s.events]}
    return {"number": o.number, "customer_id": o.customer_id, "status": o.status, "placed_at": _time(o.placed_at),
            "total": str(o.total), "currency": o.currency, "shipping_address": o.shipping_address,
            "country": o.country, "cancelled_at": _time(o.cancelled_at), "invoice_number": o.invoice_number,
            "lines": [{"sku": ln.sku, "name": ln.name, "quantity": ln.quantity, "unit_price": str(ln.unit_price)}
                      for ln in o.lines],
            "shipment": shipment, "returns": [return_json(r) for r in o.returns],
            "refunds": [refund_json(r) for r in o.refunds]}


# --- reading (HttpOrderBackend) ----------------------------------------------------------------------------

class _Fields:
    """One JSON object of a response, read field by field; `where` names it in error messages."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, Mapping):
            raise Malformed(f"{where}: expected an object, got {type(value).__name__}")
        self.data, self.where = value, where

    def _get(self, name: str, optional: bool) -> object:
        if name not in self.data:
            if optional:
                return None
            raise Malformed(f"{self.where}.{name}: missing")
        value = self.data[name]
        if value is None and not optional:
            raise Malformed(f"{self.where}.{name}: must not be null")
        return value

    def text(self, name: str, optional: bool = False, choices: frozenset[str] | None = None) -> Any:
        value = self._get(name, optional)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise Malformed(f"{self.where}.{name}: expected a string of at most {MAX_TEXT} characters")
        if choices is not None and value not in choices:
            raise Malformed(f"{self.where}.{name}: {value[:40]!r} is not one of {', '.join(sorted(choices))}")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name, False)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed(f"{self.where}.{name}: expected an integer")
        return value

    def amount(self, name: str) -> Decimal:
        value = self._get(name, False)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Malformed(f"{self.where}.{name}: expected a decimal string like \"23.40\"")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise Malformed(f"{self.where}.{name}: {str(value)[:40]!r} is not an amount") from None
        if not amount.is_finite() or amount < 0:
            raise Malformed(f"{self.where}.{name}: {str(value)[:40]!r} is not an amount")
        return amount

    def time(self, name: str, optional: bool = False) -> Any:
        value = self.text(name, optional)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Malformed(f"{self.where}.{name}: {value[:40]!r} is not an ISO 8601 time") from None
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo is not None else parsed

    def items(self, name: str, read: Callable[[object, str], T], optional: bool = False) -> list[T]:
        value = self._get(name, optional)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise Malformed(f"{self.where}.{name}: expected a list of at most {MAX_ITEMS} items")
        return [read(item, f"{self.where}.{name}[{i}]") for i, item in enumerate(value)]

    def object(self, name: str) -> object:
        return self._get(name, True)


def read_customer(value: object, where: str = "customer") -> CustomerView:
    f = _Fields(value, where)
    return CustomerView(f.integer("id"), f.text("name"), f.text("email"), f.text("country", True) or "")


def read_refund(value: object, where: str = "refund") -> RefundView:
    f = _Fields(value, where)
    return RefundView(
        id=f.integer("id"), order_number=f.text("order_number"), amount=f.amount("amount"),
        status=f.text("status", choices=REFUND_STATUSES), created_at=f.time("created_at"),
        updated_at=f.time("updated_at", True) or f.time("created_at"), currency=f.text("currency", True) or "",
        reason=f.text("reason", True, REFUND_REASONS) or "cancellation",
        return_status=f.text("return_status", True, RETURN_STATUSES))


def read_return(value: object, where: str = "return") -> ReturnView:
    f = _Fields(value, where)
    refund = f.object("refund")
    return ReturnView(
        id=f.integer("id"), order_number=f.text("order_number"), status=f.text("status", choices=RETURN_STATUSES),
        reason=f.text("reason", True) or "", created_at=f.time("created_at"),
        refund=read_refund(refund, f"{where}.refund") if refund is not None else None,
        updated_at=f.time("updated_at", True))


def read_invoice(value: object, where: str = "invoice") -> InvoiceView:
    f = _Fields(value, where)
    return InvoiceView(f.text("number"), f.text("order_number"), f.time("issued_at"), f.amount("amount"),
                       f.text("currency"))


def _read_line(value: object, where: str) -> LineView:
    f = _Fields(value, where)
    quantity = f.integer("quantity")
    if quantity < 0:
        raise Malformed(f"{where}.quantity: must not be negative")
    return LineView(f.text("sku", True) or "", f.text("name"), quantity, f.amount("unit_price"))


def _read_event(value: object, where: str) -> TrackingEventView:
    f = _Fields(value, where)
    return TrackingEventView(f.text("status", choices=SHIPMENT_STATUSES), f.time("occurred_at"),
                             f.text("location", True) or "")


def _read_shipment(value: object, where: str) -> ShipmentView:
    f = _Fields(value, where)
    return ShipmentView(
        carrier=f.text("carrier", True), tracking_number=f.text("tracking_number", True),
        status=f.text("status", choices=SHIPMENT_STATUSES), shipped_at=f.time("shipped_at", True),
        estimated_delivery=f.time("estimated_delivery", True), delivered_at=f.time("delivered_at", True),
        events=tuple(f.items("events", _read_event, True)))


def _newest_first(views: list[T]) -> tuple[T, ...]:
    return tuple(sorted(views, key=lambda v: (v.created_at, v.id), reverse=True))  # type: ignore[attr-defined]


def read_order(value: object, where: str = "order") -> OrderView:
    f = _Fields(value, where)
    shipment = f.object("shipment")
    address = f.text("shipping_address", True) or ""
    return OrderView(
        number=f.text("number"), customer_id=f.integer("customer_id"),
        status=f.text("status", choices=ORDER_STATUSES), placed_at=f.time("placed_at"), total=f.amount("total"),
        currency=f.text("currency"), shipping_address=address,
        lines=tuple(f.items("lines", _read_line)),
        shipment=_read_shipment(shipment, f"{where}.shipment") if shipment is not None else None,
        invoice_number=f.text("invoice_number", True),
        country=f.text("country", True) or country_at_end(address) or "",
        cancelled_at=f.time("cancelled_at", True),
        returns=_newest_first(f.items("returns", read_return, True)),
        refunds=_newest_first(f.items("refunds", read_refund, True)))


def read_list(value: object, key: str, read: Callable[[object, str], T]) -> list[T]:
    """`{"<key>": [...]}`, each item read by `read`."""
    return _Fields(value, "response").items(key, read)
