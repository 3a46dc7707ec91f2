"""WooCommerce CSV exports: the built-in product exporter, and the orders exports of its order export/import
extensions (WooCommerce has no built-in orders CSV).

Products (WooCommerce > Products > Export): ID, Type, SKU, Name, Regular price, Stock, Parent, ...; simple
products and variations are imported, variable and grouped parents (they have no price of their own) skipped.
Orders: the column keys those extensions document (order_id, order_number, order_date, status,
order_currency, customer_email / billing_email, billing_* and shipping_* address parts, order_total,
paid_date, completed_date) or their labels ("Order Number", "Order Status", "Email (Billing)", ...), with line
items either packed in line_item_1, line_item_2 ... ("name:Hoodie|sku:HD-1|quantity:2|total:40.00") or one
per row (item_sku, item_name, item_quantity, item_cost or item_total). Tracking columns of the Shipment
Tracking extension (tracking_provider, tracking_number, date_shipped) are read when present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from store.importers.csvfile import CsvFile
from store.importers.records import AddressParts, ImportFileError, LineRow, OrderRow, ProductRow
from store.models import OrderStatus

name = "woocommerce"
delimiter = ","

# WooCommerce's own order statuses, and the "shipped"/"delivered" ones that shipping extensions add.
statuses = {
    "pending": OrderStatus.PROCESSING,  # awaiting payment
    "pending-payment": OrderStatus.PROCESSING,
    "on-hold": OrderStatus.PROCESSING,
    "processing": OrderStatus.PROCESSING,
    "completed": OrderStatus.SHIPPED,  # WooCommerce: fulfilled; nothing says it has arrived
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,  # the payment failed: no order to send
    "refunded": OrderStatus.RETURNED,
}
PAID = frozenset({"processing", "completed", "shipped", "delivered", "refunded"})
SKIPPED_TYPES = frozenset({"variable", "grouped"})

# Each field's column, under the keys the extensions document first, then their labels (as column_key writes them).
ALIASES: dict[str, tuple[str, ...]] = {
    "number": ("order_number", "order_id", "order_no"),
    "status": ("status", "order_status"),
    "placed_at": ("order_date", "date", "date_created"),
    "email": ("customer_email", "billing_email", "email_billing", "email"),
    "currency": ("order_currency", "currency"),
    "total": ("order_total", "order_total_amount", "total"),
    "paid_date": ("paid_date", "date_paid", "order_paid_date"),
    "completed": ("completed_date", "date_completed", "order_completed_date"),
    "carrier": ("tracking_provider", "tracking_company", "shipping_carrier"),
    "tracking": ("tracking_number",),
    "shipped": ("date_shipped", "shipped_date"),
    "delivered": ("date_delivered", "delivered_date"),
    "item_sku": ("item_sku", "sku"),
    "item_name": ("item_name", "product_name"),
    "item_quantity": ("item_quantity", "quantity", "qty"),
    "item_price": ("item_cost", "item_price"),
    "item_total": ("item_total", "line_total"),
}
PART_LABELS = {"address_1": ("address_1_2",), "state": ("state_code",), "country": ("country_code",)}
LINE_ITEM = re.compile(r"^line_item_\d+$")


def product_rows(file: CsvFile) -> Iterator[tuple[int, ProductRow]]:
    file.require(("type", "sku", "name", "regular_price"), "a WooCommerce products export")
    for line, row in file.rows():
        kind = row.get("type", "").split(",")[0].strip().lower()
        if kind in SKIPPED_TYPES:
            continue
        yield line, ProductRow(sku=row.get("sku", ""), name=row.get("name", ""),
                               unit_price=row.get("regular_price", ""), stock=row.get("stock", ""))


def order_rows(file: CsvFile) -> Iterator[tuple[int, OrderRow]]:
    columns = {field: next((c for c in keys if file.has(c)), None) for field, keys in ALIASES.items()}
    missing = [" or ".join(ALIASES[f]) for f in ("number", "status", "placed_at", "email") if columns[f] is None]
    packed = [c for c in file.columns if LINE_ITEM.match(c)]
    if not packed and (columns["item_quantity"] is None or not (columns["item_sku"] or columns["item_name"])):
        missing.append("line_item_1 (or item_sku/item_name and item_quantity)")
    if missing:
        raise ImportFileError(f"{file.path}: not a WooCommerce orders export: missing column(s) "
                              f"{'; '.join(missing)} (the file has {', '.join(file.columns)})")
    for line, row in file.rows():
        def get(field: str, row: dict[str, str] = row) -> str:
            column = columns[field]
            return row.get(column, "") if column else ""
        status = get("status")
        paid_date = columns["paid_date"] is not None
        yield line, OrderRow(
            number=get("number"), email=get("email"),
            customer_name=_name(row, "billing") or _name(row, "shipping"),
            shipping=_address(row, "shipping"), billing=_address(row, "billing"),
            currency=get("currency"), placed_at=get("placed_at"), status=status,
            paid=(bool(get("paid_date")) if paid_date else status.lower().removeprefix("wc-") in PAID)
            if status else None,
            total=get("total"), carrier=get("carrier"), tracking_number=get("tracking"),
            shipped_at=get("shipped") or get("completed"), delivered_at=get("delivered"),
            lines=[_packed(row[c]) for c in packed if row.get(c)] if packed else _item(get))


def _part(row: dict[str, str], kind: str, part: str) -> str:
    """billing_city (the keys) or city_billing ("City (Billing)", the labels; "Address 1&2", "Country Code")."""
    for name in (part, *PART_LABELS.get(part, ())):
        if value := row.get(f"{kind}_{name}", "") or row.get(f"{name}_{kind}", ""):
            return value
    return ""


def _name(row: dict[str, str], kind: str) -> str:
    return " ".join(p for p in (_part(row, kind, "first_name"), _part(row, kind, "last_name")) if p)


def _address(row: dict[str, str], kind: str) -> AddressParts:
    return AddressParts(street=_part(row, kind, "address_1"), street2=_part(row, kind, "address_2"),
                        city=_part(row, kind, "city"), postcode=_part(row, kind, "postcode"),
                        region=_part(row, kind, "state"), country=_part(row, kind, "country"))


def _packed(text: str) -> LineRow:
    """'name:Hoodie - Blue|product_id:12|sku:HD-BL|quantity:2|total:40.00|...' -> one line item."""
    values = dict(part.partition(":")[::2] for part in text.split("|"))
    values = {k.strip().lower(): v.strip() for k, v in values.items()}
    return LineRow(sku=values.get("sku", ""), name=values.get("name", ""), quantity=values.get("quantity", ""),
                   line_total=values.get("total", ""))


def _item(get: Callable[[str], str]) -> list[LineRow]:
    if not (get("item_sku") or get("item_name")):
        return []
    return [LineRow(sku=get("item_sku"), name=get("item_name"), quantity=get("item_quantity"),
                    unit_price=get("item_price"), line_total=get("item_total"))]
