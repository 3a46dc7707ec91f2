"""The HTTP order backend: the shop's own order API (contract: docs/order-api.md), behind `OrderBackend`.

For a shop that keeps its orders in its own system and would rather be asked than copied from. The calls map
one to one onto the contract's endpoints; the answers become the same views the SQL store returns
(store.order_json reads them strictly), so the actions cannot tell the backends apart.

What stays here, in ShopDesk, and is never delegated: the identity check's throttle (store.verification, on
ShopDesk's own database: the shop's API is only asked "is this the email on that order?"), and the rules'
wording (store.rules): a change the rules refuse is refused here, in ShopDesk's words, before the shop's API is
asked; the API still has the last word and may refuse with its own message (409).

Failures: a connection refused, a timeout, a 5xx, refused credentials (401/403), a response that is not the
contract's JSON or too big: all `BackendUnavailable`, logged with the reason, and the customer hears that the
order system can't be reached. Reads (GET) are retried twice on connection errors, timeouts and 502/503/504
(urllib3's Retry, with a short backoff); changes are never retried once sent, and a change that got no answer
is reported as "can't tell whether it went through", never as failed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session, sessionmaker
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from store.addresses import AddressError, parse_address
from store.backend import check_new_address
from store.db import session_factory
from store.errors import OUTCOME_UNKNOWN, BackendUnavailable, NotAllowed, OrderNotFound
from store.order_json import (
    Malformed,
    read_customer,
    read_invoice,
    read_list,
    read_order,
    read_refund,
    read_return,
)
from store.rules import address_change_blocker, cancellation_blocker, return_blocker
from store.verification import IdentityChecks, normalize_order_number
from store.views import AddressCheck, CustomerView, InvoiceView, OrderView, RefundView, ReturnView

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
MAX_RESPONSE_BYTES = 1 << 20
READ_RETRIES = 2
MAX_MESSAGE = 500  # a shop's refusal shown to the customer, at most this long
T = TypeVar("T")
_REFERENCE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$")  # an invoice or order number, nothing a path could hide


class _NotFound(Exception):
    """The API's 404 {"error": "not_found"}: each call says what that means for it."""


def _never_sent(error: requests.RequestException) -> bool:
    """True when the request surely never reached the server (so a change surely did not happen)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


class HttpOrderBackend:
    """An `OrderBackend` over the shop's order API at `base_url` (".../v1" is appended when missing)."""

    def __init__(self, base_url: str, token: str, sessions: sessionmaker[Session] | None = None,
                 timeout_s: float | None = None, clock: Callable[[], datetime] = datetime.now,
                 ca_bundle: str | None = None) -> None:
        if not token:
            raise ValueError("the order API needs a bearer token")
        base = base_url.rstrip("/")
        self._base = base if base.endswith("/v1") else f"{base}/v1"
        self._timeout = timeout_s or DEFAULT_TIMEOUT_S
        self._now = clock
        self._identity = IdentityChecks(sessions or session_factory(), self.now)
        retry = Retry(total=READ_RETRIES, connect=READ_RETRIES, read=READ_RETRIES, status=READ_RETRIES,
                      other=0, backoff_factor=0.2, status_forcelist=(502, 503, 504),
                      allowed_methods=frozenset({"GET"}), raise_on_status=False, respect_retry_after_header=False)
        self._http = requests.Session()
        # No proxy or .netrc from the environment may see (or replace) the bearer secret; a shop's own CA is
        # named explicitly instead ($SHOPDESK_ORDER_API_CA_BUNDLE).
        self._http.trust_env = False
        if ca_bundle:
            self._http.verify = ca_bundle
        self._http.mount("http://", HTTPAdapter(max_retries=retry))
        self._http.mount("https://", HTTPAdapter(max_retries=retry))
        self._http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                   "User-Agent": "ShopDesk order desk"})

    def now(self) -> datetime:
        return self._now()

    def reachable(self) -> tuple[bool, str]:
        """Whether the API's health endpoint answers (the action server's readiness probe)."""
        try:
            reply = self._http.get(f"{self._base}/health", timeout=(CONNECT_TIMEOUT_S, self._timeout))
            return reply.status_code == 200, f"HTTP {reply.status_code}"
        except requests.RequestException as error:
            return False, type(error).__name__

    # --- the wire --------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, change: bool | None = None) -> object:
        """The JSON the API answered with (2xx). Raises _NotFound (404 not_found), NotAllowed (409, with the
        API's message) or BackendUnavailable (anything else). `change` (default: any method but GET): an
        unanswered request may have changed something, and the customer is told so."""
        change = method != "GET" if change is None else change
        url = f"{self._base}{path}"
        try:
            with self._http.request(method, url, json=body, params=params, stream=True,
                                    timeout=(min(CONNECT_TIMEOUT_S, self._timeout), self._timeout)) as reply:
                status, raw = reply.status_code, reply.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except requests.RequestException as error:
            unknown = change and not _never_sent(error)
            raise self._unavailable(f"{method} {path}: {type(error).__name__}", unknown) from None
        except (OSError, urllib3.exceptions.HTTPError) as error:  # the body stalled or the connection dropped
            raise self._unavailable(f"{method} {path}: {type(error).__name__}", change) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise self._unavailable(f"{method} {path}: response over {MAX_RESPONSE_BYTES} bytes", change)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
            if 200 <= status < 300:
                raise self._unavailable(f"{method} {path}: HTTP {status} with a body that is not JSON",
                                        change) from None
        error_code = data.get("error") if isinstance(data, dict) else None
        if 200 <= status < 300:
            return data
        if status == 404 and error_code == "not_found":
            raise _NotFound()
        if status == 409 and error_code == "not_allowed":
            message = data.get("message") if isinstance(data, dict) else None
            text = " ".join(message.split())[:MAX_MESSAGE] if isinstance(message, str) else ""
            raise NotAllowed(text or "Our order system doesn't allow that change for this order.")
        if status in (401, 403):
            raise self._unavailable(f"{method} {path}: HTTP {status}, the order API refused our credentials "
                                    "(check SHOPDESK_ORDER_API_TOKEN)", False)
        detail = f" ({str(error_code)[:40]})" if error_code else ""
        raise self._unavailable(f"{method} {path}: HTTP {status}{detail}", change and status >= 500)

    @staticmethod
    def _unavailable(detail: str, outcome_unknown: bool) -> BackendUnavailable:
        logger.error("order API unavailable: %s", detail)
        if outcome_unknown:
            return BackendUnavailable(detail, OUTCOME_UNKNOWN)
        return BackendUnavailable(detail)

    def _read(self, what: str, value: object, read: Callable[[object, str], T]) -> T:
        try:
            return read(value, what)
        except Malformed as error:
            raise self._unavailable(f"malformed answer: {error}", False) from None

    def _read_change(self, what: str, value: object, read: Callable[[object, str], T]) -> T:
        """A change's answer: it was made, but if we can't read it we can't say so."""
        try:
            return read(value, what)
        except Malformed as error:
            raise self._unavailable(f"malformed answer to a change: {error}", True) from None

    @staticmethod
    def _customer_path(customer_id: int) -> str:
        return f"/customers/{int(customer_id)}"

    def _order_path(self, customer_id: int, number: str) -> str:
        return f"{self._customer_path(customer_id)}/orders/{quote(number, safe='')}"

    def _owned(self, customer_id: int, number: str, order: OrderView) -> OrderView:
        """Defence in depth: an order the API says is someone else's is not shown, whatever the API meant."""
        if order.customer_id != customer_id or normalize_order_number(order.number) != number:
            logger.error("order API answered for order %s of customer %s with another order or customer",
                         number, customer_id)
            raise OrderNotFound(number)
        return order

    # --- identity --------------------------------------------------------------------------------------

    def verify_owner(self, conversation_id: str, order_number: str, email: str,
                     client: str | None = None) -> int | None:
        return self._identity.verify(conversation_id, order_number, email, client, self._owner_of)

    def is_locked_out(self, conversation_id: str, order_number: str | None = None, email: str | None = None,
                      client: str | None = None) -> bool:
        return self._identity.is_locked_out(conversation_id, order_number, email, client)

    def _owner_of(self, number: str, email: str) -> int | None:
        try:
            data = self._call("POST", "/identity/check", {"order_number": number, "email": email}, change=False)
        except _NotFound:
            return None
        except NotAllowed as refused:
            raise self._unavailable(f"identity check answered 409: {refused}", False) from None
        return self._read("identity", data, lambda value, where: _read_customer_id(value, where))

    def customer(self, customer_id: int) -> CustomerView | None:
        try:
            data = self._call("GET", self._customer_path(customer_id))
        except _NotFound:
            return None
        customer = self._read("customer", data, read_customer)
        if customer.id != customer_id:
            raise self._unavailable(f"asked for customer {customer_id}, got another", False)
        return customer

    # --- reading ---------------------------------------------------------------------------------------

    def order(self, customer_id: int, order_number: str) -> OrderView:
        number = normalize_order_number(order_number)
        if number is None:
            raise OrderNotFound(str(order_number)[:40])
        try:
            data = self._call("GET", self._order_path(customer_id, number))
        except _NotFound:
            raise OrderNotFound(number) from None
        return self._owned(customer_id, number, self._read("order", data, read_order))

    def recent_orders(self, customer_id: int, limit: int = 5) -> list[OrderView]:
        limit = max(1, min(limit, 20))
        try:
            data = self._call("GET", f"{self._customer_path(customer_id)}/orders", params={"limit": limit})
        except _NotFound:
            return []
        orders = self._read("orders", data, lambda value, _: read_list(value, "orders", read_order))
        if any(o.customer_id != customer_id for o in orders):
            raise self._unavailable(f"the orders of customer {customer_id} include another customer's", False)
        return sorted(orders, key=lambda o: o.placed_at, reverse=True)[:limit]

    def invoice(self, customer_id: int, reference: str) -> InvoiceView:
        ref = (reference or "").strip().upper()
        missing = NotAllowed(f"I couldn't find an invoice {reference[:40]} on your account.")
        if not (_REFERENCE.match(ref) or normalize_order_number(ref.removeprefix("INV-"))):
            raise missing  # an invoice is INV- and one of the shop's order numbers (quoted into the path below)
        try:
            data = self._call("GET", f"{self._customer_path(customer_id)}/invoices/{quote(ref, safe='')}")
        except _NotFound:
            raise missing from None
        return self._read("invoice", data, read_invoice)

    def refunds(self, customer_id: int, order_number: str | None = None) -> list[RefundView]:
        params = None
        if order_number:
            number = normalize_order_number(order_number)
            if number is None:
                raise OrderNotFound(str(order_number)[:40])
            params = {"order": number}
        try:
            data = self._call("GET", f"{self._customer_path(customer_id)}/refunds", params=params)
        except _NotFound:
            if params:
                raise OrderNotFound(params["order"]) from None
            return []
        refunds = self._read("refunds", data, lambda value, _: read_list(value, "refunds", read_refund))
        return sorted(refunds, key=lambda r: (r.created_at, r.id), reverse=True)

    def returns(self, customer_id: int) -> list[ReturnView]:
        try:
            data = self._call("GET", f"{self._customer_path(customer_id)}/returns")
        except _NotFound:
            return []
        returns = self._read("returns", data, lambda value, _: read_list(value, "returns", read_return))
        return sorted(returns, key=lambda r: (r.created_at, r.id), reverse=True)

    # --- rules (ShopDesk's, on the order as the API has it) ---------------------------------------------

    def cancellation_blocker(self, customer_id: int, order_number: str) -> str | None:
        return cancellation_blocker(self.order(customer_id, order_number))

    def address_change_blocker(self, customer_id: int, order_number: str) -> str | None:
        return address_change_blocker(self.order(customer_id, order_number))

    def return_blocker(self, customer_id: int, order_number: str) -> str | None:
        return return_blocker(self.order(customer_id, order_number), self._now())

    def check_new_address(self, customer_id: int | None, order_number: str | None,
                          address: object) -> AddressCheck:
        return check_new_address(self, customer_id, order_number, address)

    # --- changing --------------------------------------------------------------------------------------

    def _change(self, customer_id: int, order: OrderView, action: str, body: Mapping[str, Any]) -> object:
        try:
            return self._call("POST", f"{self._order_path(customer_id, order.number)}/{action}", body)
        except _NotFound:
            raise OrderNotFound(order.number) from None

    def cancel_order(self, customer_id: int, order_number: str) -> RefundView:
        order = self.order(customer_id, order_number)
        if blocker := cancellation_blocker(order):
            raise NotAllowed(blocker)
        return self._read_change("refund", self._change(customer_id, order, "cancel", {}), read_refund)

    def change_shipping_address(self, customer_id: int, order_number: str, address: str) -> OrderView:
        order = self.order(customer_id, order_number)
        if blocker := address_change_blocker(order):
            raise NotAllowed(blocker)
        try:
            parsed = parse_address(address, order.country or None)
        except AddressError as problem:
            raise NotAllowed(str(problem)) from problem
        changed = self._read_change("order", self._change(customer_id, order, "address",
                                                          {"address": parsed.formatted}), read_order)
        return self._owned(customer_id, order.number, changed)

    def open_return(self, customer_id: int, order_number: str, reason: str) -> ReturnView:
        reason = " ".join((reason or "").split())[:500] or "not given"
        order = self.order(customer_id, order_number)
        if blocker := return_blocker(order, self._now()):
            raise NotAllowed(blocker)
        return self._read_change("return", self._change(customer_id, order, "returns", {"reason": reason}),
                                 read_return)


def _read_customer_id(value: object, where: str) -> int:
    if not isinstance(value, dict):
        raise Malformed(f"{where}: expected an object")
    customer_id = value.get("customer_id")
    if isinstance(customer_id, bool) or not isinstance(customer_id, int):
        raise Malformed(f"{where}.customer_id: expected an integer")
    return customer_id
