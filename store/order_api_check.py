"""Check a shop's order API against the contract (docs/order-api.md), read-only, before switching to it.

    SHOPDESK_ORDER_API_URL=... SHOPDESK_ORDER_API_TOKEN=... .venv/app/bin/python -m store.order_api_check \\
        --order 581142 --email jane@example.com

Asks what ShopDesk will ask, through the same HttpOrderBackend: the health probe, the identity check for one
real order and its email (and a wrong email), that customer, their orders, the order, its refunds, their
returns and the order's invoice, and that another customer's id does not reach the order. Prints one line per
check and exits 1 when any failed. Changes nothing (no cancel, redirect or return is sent), and counts
nothing against anyone: the identity throttle runs on a throw-away in-memory database.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from store.backend import API_CA_BUNDLE_ENV, API_TIMEOUT_ENV, API_TOKEN_ENV, API_URL_ENV
from store.errors import BackendUnavailable, OrderDeskError, OrderNotFound
from store.http_backend import HttpOrderBackend
from store.models import Base


def _scratch_backend(url: str, token: str, timeout_s: float | None, ca_bundle: str | None) -> HttpOrderBackend:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return HttpOrderBackend(url, token, sessions=sessionmaker(engine, expire_on_commit=False), timeout_s=timeout_s,
                            ca_bundle=ca_bundle)


def run_checks(backend: HttpOrderBackend, order_number: str, email: str) -> list[tuple[bool, str]]:
    """(passed, line) per check, in the order ShopDesk meets them in a conversation."""
    results: list[tuple[bool, str]] = []

    def check(name: str, call: Callable[[], str]) -> None:
        try:
            results.append((True, f"ok    {name}: {call()}"))
        except (BackendUnavailable, OrderDeskError, AssertionError) as problem:
            results.append((False, f"FAIL  {name}: {type(problem).__name__}: {problem}"))

    ok, detail = backend.reachable()
    results.append((ok, f"{'ok   ' if ok else 'FAIL '} GET /v1/health: {detail}"))
    found: dict[str, int] = {}

    def identity() -> str:
        customer = backend.verify_owner("order-api-check", order_number, email)
        assert customer is not None, f"{email} is not the email on order {order_number}"
        found["customer"] = customer
        return f"customer {customer}"

    check("identity check (order and its email)", identity)

    def wrong_email() -> str:
        assert backend.verify_owner("order-api-check", order_number, "nobody@shopdesk.invalid") is None, \
            "an email that is not the order's was accepted"
        return "refused, as it should be"

    check("identity check (a wrong email)", wrong_email)
    customer = found.get("customer")
    if customer is None:
        return results
    check("customer", lambda: f"{backend.customer(customer)}")
    check("recent orders", lambda: f"{[o.number for o in backend.recent_orders(customer, limit=20)]}")
    check("the order", lambda: f"status {backend.order(customer, order_number).status}")
    check("its refunds", lambda: f"{len(backend.refunds(customer, order_number))} refund(s)")
    check("returns", lambda: f"{len(backend.returns(customer))} return(s)")

    def invoice() -> str:
        number = backend.order(customer, order_number).invoice_number
        return backend.invoice(customer, order_number).number if number else "the order has none (not asked)"

    check("its invoice", invoice)

    def someone_else() -> str:
        try:
            backend.order(customer + 1, order_number)
        except OrderNotFound:
            return "another customer id gets not_found"
        raise AssertionError(f"customer {customer + 1} was shown order {order_number}")

    check("ownership", someone_else)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.order_api_check", description=__doc__.split("\n")[0])
    parser.add_argument("--order", required=True, help="a real order number")
    parser.add_argument("--email", required=True, help="the email on that order")
    parser.add_argument("--url", default=os.environ.get(API_URL_ENV, ""), help=f"default ${API_URL_ENV}")
    args = parser.parse_args(argv)
    token = os.environ.get(API_TOKEN_ENV, "").strip()
    if not args.url or not token:
        print(f"order API check: set {API_URL_ENV} (or --url) and {API_TOKEN_ENV}", file=sys.stderr)
        return 2
    timeout = os.environ.get(API_TIMEOUT_ENV, "").strip()
    backend = _scratch_backend(args.url, token, float(timeout) if timeout else None,
                               os.environ.get(API_CA_BUNDLE_ENV, "").strip() or None)
    results = run_checks(backend, args.order, args.email)
    for _, line in results:
        print(line)
    failed = sum(not passed for passed, _ in results)
    print(f"{len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
