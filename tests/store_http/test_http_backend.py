"""HttpOrderBackend against the reference order API, a real process over a seeded store (tests/store_http).

Every call of the OrderBackend interface, answered over HTTP exactly as the SQL store answers it directly;
ownership, unknown ids, changes that land in the shop's store, and every way the API can fail.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from runtime.processes import ProcessGroup, free_port
from store.backend import BackendMisconfigured, OrderBackend, configured_backend
from store.errors import OUTCOME_UNKNOWN, UNREACHABLE, BackendUnavailable, NotAllowed, OrderNotFound
from store.http_backend import HttpOrderBackend
from store.security import ThrottleEvent
from store.service import LOCKED_OUT_MESSAGE, MAX_FAILED_VERIFICATIONS, OrderDesk
from tests.store_http.conftest import ALICE, API_TOKEN, BOB, base_url, reference_server, seeded_shop

ALL_ORDERS = {ALICE: ["900001", "900002", "900003"], BOB: ["900004", "C900005", "900006"]}


def misbehaving(url: str, mode: str, sessions: sessionmaker[Session], timeout_s: float) -> HttpOrderBackend:
    """A backend on the misbehaving API (tests/store_http/conftest.py), behaving as `mode` says."""
    return HttpOrderBackend(f"{url}/{mode}", API_TOKEN, sessions=sessions, timeout_s=timeout_s)


def throttle_rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(ThrottleEvent)) or 0


def test_both_backends_implement_the_interface(backend: HttpOrderBackend, shop_desk: OrderDesk) -> None:
    assert isinstance(backend, OrderBackend) and isinstance(shop_desk, OrderBackend)


def test_reads_answer_what_the_store_holds(backend: HttpOrderBackend, shop_desk: OrderDesk) -> None:
    """The JSON round trip loses nothing: every view equals the SQL store's own."""
    for customer, numbers in ALL_ORDERS.items():
        assert backend.customer(customer) == shop_desk.customer(customer)
        assert backend.recent_orders(customer, limit=20) == shop_desk.recent_orders(customer, limit=20)
        assert backend.recent_orders(customer, limit=2) == shop_desk.recent_orders(customer, limit=2)
        for number in numbers:
            assert backend.order(customer, number) == shop_desk.order(customer, number)
            assert backend.refunds(customer, number) == shop_desk.refunds(customer, number)
            assert backend.cancellation_blocker(customer, number) == shop_desk.cancellation_blocker(customer, number)
            assert (backend.address_change_blocker(customer, number)
                    == shop_desk.address_change_blocker(customer, number))
            assert backend.return_blocker(customer, number) == shop_desk.return_blocker(customer, number)
        assert backend.refunds(customer) == shop_desk.refunds(customer)
        assert backend.returns(customer) == shop_desk.returns(customer)
    assert backend.order(ALICE, "#900001 ").number == "900001"  # any way of writing the number
    invoice = shop_desk.invoice(ALICE, "900002")
    assert backend.invoice(ALICE, "900002") == invoice == backend.invoice(ALICE, invoice.number.lower())
    assert backend.check_new_address(BOB, "900006", "12 Rue de la Paix, 75002 Paris") == \
        shop_desk.check_new_address(BOB, "900006", "12 Rue de la Paix, 75002 Paris")


def test_someone_elses_or_unknown_orders_are_one_answer(backend: HttpOrderBackend) -> None:
    with pytest.raises(OrderNotFound) as not_yours:
        backend.order(BOB, "900001")
    with pytest.raises(OrderNotFound) as unknown:
        backend.order(BOB, "999999")
    assert str(not_yours.value).replace("900001", "N") == str(unknown.value).replace("999999", "N")
    with pytest.raises(OrderNotFound):
        backend.order(ALICE, "DROP TABLE orders")  # not a number: not even asked
    with pytest.raises(OrderNotFound):
        backend.refunds(BOB, "900001")
    with pytest.raises(OrderNotFound):
        backend.cancellation_blocker(BOB, "900001")
    with pytest.raises(NotAllowed, match="couldn't find an invoice"):
        backend.invoice(BOB, "900002")
    with pytest.raises(NotAllowed, match="couldn't find an invoice"):
        backend.invoice(ALICE, "../../customers/10002")
    assert backend.customer(424242) is None
    assert backend.recent_orders(424242) == [] and backend.returns(424242) == []


def test_someone_elses_order_is_never_changed(backend: HttpOrderBackend, shop_desk: OrderDesk) -> None:
    before = shop_desk.order(ALICE, "900001")
    with pytest.raises(OrderNotFound):
        backend.cancel_order(BOB, "900001")
    with pytest.raises(OrderNotFound):
        backend.change_shipping_address(BOB, "900001", "1 New Street, Leeds LS1 1AA")
    with pytest.raises(OrderNotFound):
        backend.open_return(BOB, "900003", "not mine")
    assert shop_desk.order(ALICE, "900001") == before


def test_cancel_lands_in_the_shops_store(backend: HttpOrderBackend, shop_desk: OrderDesk) -> None:
    refund = backend.cancel_order(ALICE, "900001")
    assert refund.status == "processing" and refund.reason == "cancellation"
    assert shop_desk.order(ALICE, "900001").status == "cancelled"
    assert backend.order(ALICE, "900001").status == "cancelled"
    assert backend.refunds(ALICE, "900001") == [refund]
    with pytest.raises(NotAllowed, match="already cancelled"):
        backend.cancel_order(ALICE, "900001")
    with pytest.raises(NotAllowed, match="already shipped"):
        backend.cancel_order(ALICE, "900002")
    assert shop_desk.order(ALICE, "900002").status == "shipped"


def test_address_change_lands_and_bad_addresses_change_nothing(backend: HttpOrderBackend,
                                                               shop_desk: OrderDesk) -> None:
    original = shop_desk.order(BOB, "900006").shipping_address
    with pytest.raises(NotAllowed, match="full address"):
        backend.change_shipping_address(BOB, "900006", "here")
    assert shop_desk.order(BOB, "900006").shipping_address == original
    changed = backend.change_shipping_address(BOB, "900006", "  12 Rue de la Paix,\n75002 Paris, France ")
    assert changed.shipping_address == "12 Rue de la Paix, 75002 Paris, France"
    assert shop_desk.order(BOB, "900006").shipping_address == changed.shipping_address
    assert backend.order(BOB, "900006") == changed
    with pytest.raises(NotAllowed, match="can no longer be changed"):
        backend.change_shipping_address(ALICE, "900002", "1 New Street, LS1 1AA Leeds")


def test_return_lands_once(backend: HttpOrderBackend, shop_desk: OrderDesk) -> None:
    opened = backend.open_return(ALICE, "900003", "  arrived\n damaged ")
    assert opened.status == "requested" and opened.reason == "arrived damaged"
    assert opened.refund is not None and opened.refund.status == "pending"
    assert shop_desk.returns(ALICE) == backend.returns(ALICE) == [opened]
    with pytest.raises(NotAllowed, match="already open"):
        backend.open_return(ALICE, "900003", "again")
    with pytest.raises(NotAllowed, match="outside our return window"):
        backend.open_return(BOB, "900004", "too late")
    assert len(shop_desk.returns(ALICE)) == 1 and shop_desk.returns(BOB) == []


def test_identity_check_is_asked_of_the_api_and_throttled_in_shopdesk(
        backend: HttpOrderBackend, shop_desk: OrderDesk, shopdesk_sessions: sessionmaker[Session]) -> None:
    email = shop_desk.customer(BOB).email
    assert backend.verify_owner("conv-1", "900004", email.upper()) == BOB
    assert backend.verify_owner("conv-1", "900001", email) is None  # Alice's order, Bob's email
    for _ in range(MAX_FAILED_VERIFICATIONS):
        assert backend.verify_owner("conv-2", "900004", "wrong@example.com") is None
    assert backend.is_locked_out("conv-3", "900004", email)
    with pytest.raises(NotAllowed, match=LOCKED_OUT_MESSAGE[:30]):
        backend.verify_owner("conv-3", "900004", email)  # the right email too: refused unevaluated
    assert throttle_rows(shopdesk_sessions) > 0  # counted in ShopDesk's own database


def test_an_unreachable_api_raises_backend_unavailable(shopdesk_sessions: sessionmaker[Session]) -> None:
    down = HttpOrderBackend(f"http://127.0.0.1:{free_port()}", API_TOKEN, sessions=shopdesk_sessions, timeout_s=1)
    for call in (lambda: down.order(ALICE, "900001"), lambda: down.recent_orders(ALICE),
                 lambda: down.customer(ALICE), lambda: down.refunds(ALICE), lambda: down.returns(ALICE),
                 lambda: down.invoice(ALICE, "900002")):
        with pytest.raises(BackendUnavailable) as outage:
            call()
        assert outage.value.customer_message == UNREACHABLE
    with pytest.raises(BackendUnavailable):
        down.verify_owner("conv-down", "900001", "alice@example.com")
    assert throttle_rows(shopdesk_sessions) == 0  # an outage is no guess: nothing counted against anyone
    assert not isinstance(BackendUnavailable("x"), NotAllowed | OrderNotFound)
    assert down.reachable()[0] is False


def test_a_change_never_sent_is_reported_as_unreachable(tmp_path_factory: pytest.TempPathFactory,
                                                              shopdesk_sessions: sessionmaker[Session]) -> None:
    """The API dies between the read and the change: the customer hears "can't reach", since the change surely
    didn't happen (never sent); "can't tell whether it went through" is only for a change that was sent."""
    own = seeded_shop(tmp_path_factory.mktemp("dying-shop"))
    server = reference_server(own, tmp_path_factory.mktemp("dying-logs"))
    group = ProcessGroup([server])
    group.start()
    try:
        backend = HttpOrderBackend(base_url(server), API_TOKEN, sessions=shopdesk_sessions, timeout_s=2)
        assert backend.order(ALICE, "900001").status == "processing"
    finally:
        group.stop()
    with pytest.raises(BackendUnavailable) as outage:
        backend.cancel_order(ALICE, "900001")
    assert outage.value.customer_message == UNREACHABLE


@pytest.mark.parametrize("mode", ["garbage", "wrong-shape", "bad-status", "html-404", "error-500", "huge"])
def test_malformed_answers_raise_backend_unavailable(misbehaving_api: tuple[str, list], mode: str,
                                                     shopdesk_sessions: sessionmaker[Session]) -> None:
    url, _ = misbehaving_api
    backend = misbehaving(url, mode, shopdesk_sessions, 2)
    with pytest.raises(BackendUnavailable) as outage:
        backend.order(ALICE, "900001")
    assert outage.value.customer_message == UNREACHABLE
    with pytest.raises(BackendUnavailable):
        backend.recent_orders(ALICE)


def test_a_change_answered_with_nonsense_is_reported_as_unknown(misbehaving_api: tuple[str, list],
                                                                shopdesk_sessions: sessionmaker[Session]) -> None:
    """The order reads fine (a `good` processing order), but the answer to the cancel is not a refund."""
    url, seen = misbehaving_api
    backend = misbehaving(url, "good", shopdesk_sessions, 2)
    with pytest.raises(BackendUnavailable) as outage:
        backend.cancel_order(ALICE, "900001")
    assert outage.value.customer_message == OUTCOME_UNKNOWN
    assert ("POST", "/good/v1/customers/10001/orders/900001/cancel") in seen


def test_the_apis_own_refusal_reaches_the_customer(misbehaving_api: tuple[str, list],
                                                  shopdesk_sessions: sessionmaker[Session]) -> None:
    """ShopDesk's rules allowed it, the shop's system did not (it knows more): its message, tidied and capped."""
    url, _ = misbehaving_api
    backend = misbehaving(url, "refuse-changes", shopdesk_sessions, 2)
    with pytest.raises(NotAllowed) as refused:
        backend.cancel_order(ALICE, "900001")
    assert str(refused.value).startswith("This order is already packed. xxx") and len(str(refused.value)) == 500


def test_a_slow_api_times_out_and_reads_are_retried(misbehaving_api: tuple[str, list],
                                                    shopdesk_sessions: sessionmaker[Session]) -> None:
    url, seen = misbehaving_api
    backend = misbehaving(url, "slow", shopdesk_sessions, 0.4)
    began, before = time.monotonic(), len([s for s in seen if s[1].startswith("/slow/")])
    with pytest.raises(BackendUnavailable):
        backend.order(ALICE, "900001")
    assert time.monotonic() - began < 3  # three tries of 0.4 s, not a hang
    assert len([s for s in seen if s[1].startswith("/slow/")]) - before == 3  # GET: tried 1 + 2 times


def test_a_body_that_stalls_times_out(misbehaving_api: tuple[str, list],
                                      shopdesk_sessions: sessionmaker[Session]) -> None:
    url, _ = misbehaving_api
    stalled = misbehaving(url, "slow-body", shopdesk_sessions, 0.4)
    with pytest.raises(BackendUnavailable) as outage:
        stalled.order(ALICE, "900001")
    assert outage.value.customer_message == UNREACHABLE
    stalled_change = misbehaving(url, "slow-change", shopdesk_sessions, 0.4)
    with pytest.raises(BackendUnavailable) as unknown:
        stalled_change.cancel_order(ALICE, "900001")  # sent, and no answer: it may have happened
    assert unknown.value.customer_message == OUTCOME_UNKNOWN
    with pytest.raises(BackendUnavailable) as unanswered_check:
        stalled_change.verify_owner("conv-stall", "900001", "someone@example.com")  # a POST, but no change
    assert unanswered_check.value.customer_message == UNREACHABLE
    assert throttle_rows(shopdesk_sessions) == 0


def test_another_customers_order_from_the_api_is_not_shown(misbehaving_api: tuple[str, list],
                                                           shopdesk_sessions: sessionmaker[Session]) -> None:
    url, _ = misbehaving_api
    backend = misbehaving(url, "other-customer", shopdesk_sessions, 2)
    with pytest.raises(OrderNotFound):
        backend.order(ALICE, "900001")


def test_a_wrong_token_is_refused(order_api: str, shopdesk_sessions: sessionmaker[Session]) -> None:
    wrong = HttpOrderBackend(order_api, "not-the-secret-at-all", sessions=shopdesk_sessions)
    with pytest.raises(BackendUnavailable, match="refused our credentials") as refused:
        wrong.order(ALICE, "900001")
    assert refused.value.customer_message == UNREACHABLE
    with pytest.raises(BackendUnavailable, match="refused our credentials"):
        wrong.verify_owner("conv-token", "900001", "someone@example.com")
    with pytest.raises(BackendUnavailable, match="refused our credentials"):
        wrong.cancel_order(ALICE, "900001")
    assert wrong.reachable()[0] is True  # the health probe is open; everything else is not


def test_the_reference_server_needs_the_secret(order_api: str) -> None:
    import requests

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_TOKEN},
                    {"Authorization": f"Bearer {API_TOKEN}x"}):
        reply = requests.get(f"{order_api}/v1/customers/{ALICE}/orders", headers=headers, timeout=5)
        assert reply.status_code == 401 and reply.json()["error"] == "unauthorized"
        assert "900001" not in reply.text
    ok = requests.get(f"{order_api}/v1/customers/{ALICE}/orders", timeout=5,
                      headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert ok.status_code == 200 and ok.json()["orders"][0]["customer_id"] == ALICE
    unknown_path = requests.get(f"{order_api}/v1/nothing-here", timeout=5,
                                headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert unknown_path.status_code == 404 and unknown_path.json()["error"] != "not_found"


def test_the_reference_server_does_not_start_without_a_secret(shop_url: str) -> None:
    import subprocess
    import sys

    from tests.store_http.conftest import ROOT

    finished = subprocess.run([sys.executable, "-m", "store.reference_order_api", "--database-url", shop_url],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "SHOPDESK_ORDER_API_TOKEN": "short"})
    assert finished.returncode == 2 and "Traceback" not in finished.stderr
    assert "SHOPDESK_ORDER_API_TOKEN is not set or shorter than 16" in finished.stderr


def test_the_environment_picks_the_backend(monkeypatch: pytest.MonkeyPatch,
                                           shopdesk_sessions: sessionmaker[Session]) -> None:
    monkeypatch.delenv("SHOPDESK_ORDER_BACKEND", raising=False)
    assert isinstance(configured_backend(shopdesk_sessions), OrderDesk)
    monkeypatch.setenv("SHOPDESK_ORDER_BACKEND", "http")
    monkeypatch.delenv("SHOPDESK_ORDER_API_URL", raising=False)
    with pytest.raises(BackendMisconfigured, match="SHOPDESK_ORDER_API_URL"):
        configured_backend(shopdesk_sessions)
    monkeypatch.setenv("SHOPDESK_ORDER_API_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("SHOPDESK_ORDER_API_TOKEN", API_TOKEN)
    assert isinstance(configured_backend(shopdesk_sessions), HttpOrderBackend)
    monkeypatch.setenv("SHOPDESK_ORDER_API_TIMEOUT_S", "soon")
    with pytest.raises(BackendMisconfigured, match="number of seconds"):
        configured_backend(shopdesk_sessions)
    monkeypatch.setenv("SHOPDESK_ORDER_BACKEND", "mongo")
    with pytest.raises(BackendMisconfigured, match="'sql' or 'http'"):
        configured_backend(shopdesk_sessions)


def test_the_api_check_passes_the_reference_server_and_fails_a_wrong_secret(order_api: str,
                                                                             shop_desk: OrderDesk) -> None:
    import subprocess
    import sys

    from tests.store_http.conftest import ROOT

    email = shop_desk.customer(BOB).email

    def check(token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "store.order_api_check", "--order", "900004", "--email", email],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "SHOPDESK_ORDER_API_URL": order_api,
                                   "SHOPDESK_ORDER_API_TOKEN": token})

    passed = check(API_TOKEN)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "ok    ownership: another customer id gets not_found" in passed.stdout
    assert "10 of 10 checks passed" in passed.stdout
    refused = check("not-the-secret-at-all")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "FAIL  identity check (order and its email): BackendUnavailable" in refused.stdout
    assert "refused our credentials" in refused.stdout


def test_the_reference_server_refuses_bad_requests_and_changes_nothing(order_api: str,
                                                                       shop_desk: OrderDesk) -> None:
    import requests

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    before = shop_desk.order(ALICE, "900002")
    for path, body in [("orders/900002/address", None), ("orders/900002/address", {"address": 12}),
                       ("orders/900002/address", {"address": "x" * 301}), ("orders/900002/returns", {"reason": ""})]:
        reply = requests.post(f"{order_api}/v1/customers/{ALICE}/{path}", json=body, headers=auth, timeout=5)
        assert reply.status_code == 400 and reply.json()["error"] == "invalid", (path, body, reply.text)
    bad_check = requests.post(f"{order_api}/v1/identity/check", json={"order_number": "900002"}, headers=auth,
                              timeout=5)
    assert bad_check.status_code == 400 and "email" in bad_check.json()["message"]
    limit = requests.get(f"{order_api}/v1/customers/{ALICE}/orders?limit=500", headers=auth, timeout=5)
    assert limit.status_code == 400
    assert shop_desk.order(ALICE, "900002") == before
