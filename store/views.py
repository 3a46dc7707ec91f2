"""Plain, immutable views of store data: what the service layer hands to actions and web handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from store.addresses import country_at_end
from store.models import Order, Refund, ReturnRequest


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    email: str
    country: str


@dataclass(frozen=True)
class AddressCheck:
    """A new delivery address as it would be stored, or why it can't be used (a message for the customer)."""

    address: str | None
    problem: str | None


@dataclass(frozen=True)
class LineView:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class TrackingEventView:
    status: str
    occurred_at: datetime
    location: str


@dataclass(frozen=True)
class ShipmentView:
    carrier: str | None  # None: what the shop's imported data did not say
    tracking_number: str | None
    status: str
    shipped_at: datetime | None
    estimated_delivery: datetime | None
    delivered_at: datetime | None
    events: tuple[TrackingEventView, ...]


@dataclass(frozen=True)
class RefundView:
    id: int
    order_number: str
    amount: Decimal
    status: str
    created_at: datetime
    updated_at: datetime
    currency: str = ""  # "": the shop's currency (shop.yml)
    # what it is for: "return" (items sent back) or "cancellation"; the return's own status when it has one
    reason: str = "cancellation"
    return_status: str | None = None


@dataclass(frozen=True)
class ReturnView:
    id: int
    order_number: str
    status: str
    reason: str
    created_at: datetime
    refund: RefundView | None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class InvoiceView:
    number: str
    order_number: str
    issued_at: datetime
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class OrderView:
    number: str
    customer_id: int
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    shipping_address: str
    lines: tuple[LineView, ...]
    shipment: ShipmentView | None
    invoice_number: str | None
    country: str = ""  # where it is delivered (the store's name, e.g. "United Kingdom", "EIRE")
    cancelled_at: datetime | None = None
    returns: tuple[ReturnView, ...] = ()  # newest first
    refunds: tuple[RefundView, ...] = ()  # newest first

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def refund_view(refund: Refund) -> RefundView:
    request = refund.return_request
    return RefundView(
        id=refund.id,
        order_number=refund.order.number,
        amount=refund.amount,
        status=refund.status.value,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
        currency=refund.order.currency,
        reason="return" if request is not None else "cancellation",
        return_status=request.status.value if request is not None else None,
    )


def return_view(request: ReturnRequest) -> ReturnView:
    return ReturnView(
        id=request.id,
        order_number=request.order.number,
        status=request.status.value,
        reason=request.reason,
        created_at=request.created_at,
        refund=refund_view(request.refund) if request.refund else None,
        updated_at=request.updated_at,
    )


def order_view(order: Order) -> OrderView:
    shipment = None
    if order.shipment is not None:
        s = order.shipment
        shipment = ShipmentView(
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            status=s.status.value,
            shipped_at=s.shipped_at,
            estimated_delivery=s.estimated_delivery,
            delivered_at=s.delivered_at,
            events=tuple(TrackingEventView(e.status.value, e.occurred_at, e.location) for e in s.events),
        )
    return OrderView(
        number=order.number,
        customer_id=order.customer_id,
        status=order.status.value,
        placed_at=order.placed_at,
        total=order.total,
        currency=order.currency,
        shipping_address=order.shipping_address,
        lines=tuple(LineView(ln.product.sku, ln.product.name, ln.quantity, ln.unit_price) for ln in order.lines),
        shipment=shipment,
        invoice_number=order.invoice.number if order.invoice else None,
        country=order_country(order),
        cancelled_at=order.cancelled_at,
        returns=tuple(return_view(r) for r in sorted(order.returns, key=lambda r: (r.created_at, r.id),
                                                       reverse=True)),
        refunds=tuple(refund_view(r) for r in sorted(order.refunds, key=lambda r: (r.created_at, r.id),
                                                       reverse=True)),
    )


def order_country(order: Order) -> str:
    """The country an order goes to: named at the end of its address, else the customer's country."""
    return country_at_end(order.shipping_address or "") or order.customer.country
