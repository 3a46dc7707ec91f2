"""Shopify's CSV exports: Products > Export and Orders > Export ("Plain CSV file"), their documented columns.

Products: one row per variant (Handle, Title on the first row only, Option1..3 Value, Variant SKU,
Variant Price, Variant Inventory Qty where the export still has it); rows with only an image are skipped.
Orders: one row per line item; the order's fields (Email, Financial Status, Fulfillment Status, Currency,
Created at, Billing/Shipping ...) are on its first row. Shopify's export has no tracking number or delivery
date; the columns of apps that add them (Tracking Number, Tracking Company, Delivered at) are read when present.
"""

from __future__ import annotations

from collections.abc import Iterator

from store.importers.csvfile import CsvFile
from store.importers.records import AddressParts, LineRow, OrderRow, ProductRow
from store.models import OrderStatus

name = "shopify"
delimiter = ","

# The order's status word: its fulfilment status, or what its cancellation or refund makes of it (_status_word).
statuses = {
    "unfulfilled": OrderStatus.PROCESSING,
    "on-hold": OrderStatus.PROCESSING,
    "scheduled": OrderStatus.PROCESSING,
    "partial": OrderStatus.SHIPPED,
    "fulfilled": OrderStatus.SHIPPED,
    "restocked": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "voided": OrderStatus.CANCELLED,  # payment voided (or refunded) before anything shipped
    "refunded": OrderStatus.RETURNED,  # refunded in full after it shipped
}
PAID = frozenset({"paid", "partially_paid", "partially_refunded", "refunded"})
PRODUCT_COLUMNS = ("handle", "title", "variant_sku", "variant_price")
ORDER_COLUMNS = ("name", "email", "financial_status", "fulfillment_status", "currency", "created_at",
                 "lineitem_quantity", "lineitem_name", "lineitem_price", "lineitem_sku")


def product_rows(file: CsvFile) -> Iterator[tuple[int, ProductRow]]:
    file.require(PRODUCT_COLUMNS, "a Shopify products export")
    titles: dict[str, str] = {}
    for line, row in file.rows():
        handle = row.get("handle", "")
        if row.get("title"):
            titles[handle] = row["title"]
        if not (row.get("variant_sku") or row.get("variant_price")):
            continue  # an extra image of the product above
        options = [row.get(f"option{n}_value", "") for n in (1, 2, 3)]
        options = [o for o in options if o and o != "Default Title"]
        title = titles.get(handle, "")
        product_name = f"{title} - {' / '.join(options)}" if title and options else title
        yield line, ProductRow(sku=row.get("variant_sku", ""), name=product_name,
                               unit_price=row.get("variant_price", ""), stock=row.get("variant_inventory_qty", ""))


def order_rows(file: CsvFile) -> Iterator[tuple[int, OrderRow]]:
    file.require(ORDER_COLUMNS, "a Shopify orders export")
    for line, row in file.rows():
        get = row.get
        financial = get("financial_status", "").lower()
        yield line, OrderRow(
            number=get("name", ""), email=get("email", ""),
            customer_name=get("billing_name", "") or get("shipping_name", ""),
            shipping=_address(row, "shipping"), billing=_address(row, "billing"),
            currency=get("currency", ""), placed_at=get("created_at", ""), status=_status_word(row),
            cancelled_at=get("cancelled_at", ""), paid=(financial in PAID) if financial else None,
            total=get("total", ""),
            carrier=get("tracking_company", "") or get("fulfillment_tracking_company", ""),
            tracking_number=get("tracking_number", "") or get("fulfillment_tracking_number", ""),
            shipped_at=get("fulfilled_at", ""), delivered_at=get("delivered_at", ""),
            lines=[LineRow(sku=get("lineitem_sku", ""), name=get("lineitem_name", ""),
                           quantity=get("lineitem_quantity", ""), unit_price=get("lineitem_price", ""))]
            if get("lineitem_name") or get("lineitem_sku") else [])


def _status_word(row: dict[str, str]) -> str:
    """'' on an order's later rows (its fields are on the first); the fulfilment status otherwise."""
    financial, fulfilment = row.get("financial_status", "").lower(), row.get("fulfillment_status", "").lower()
    if not (financial or fulfilment or row.get("cancelled_at")):
        return ""
    if row.get("cancelled_at"):
        return "cancelled"
    if financial in ("refunded", "voided"):
        return "refunded" if fulfilment in ("fulfilled", "partial") else "voided"
    return fulfilment or "unfulfilled"


def _address(row: dict[str, str], kind: str) -> AddressParts:
    get = row.get
    street = get(f"{kind}_address1", "") or get(f"{kind}_street", "")
    return AddressParts(street=street, street2=get(f"{kind}_address2", "") if get(f"{kind}_address1") else "",
                        city=get(f"{kind}_city", ""), postcode=get(f"{kind}_zip", ""),
                        region=get(f"{kind}_province", ""), country=get(f"{kind}_country", ""))
