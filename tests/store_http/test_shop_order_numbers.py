"""A shop's own order numbers over the HTTP order backend: "S-5001", written as customers write it ("s-5001",
"order #S-5002"), is normalised by the shop's shop.yml `order_numbers`, quoted into the API's paths, and
read and cancelled in the shop's store through the real reference order API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from runtime.processes import ProcessGroup
from shop_profile import PROFILE_ENV
from store.http_backend import HttpOrderBackend
from store.importers.cli import main as import_main
from store.service import OrderNotFound
from tests.shop_profile.support import write_profile
from tests.store_http.conftest import API_TOKEN, ROOT, base_url, reference_server

FIXTURES = ROOT / "tests" / "fixtures" / "imports"
KATE = "kate.lim@example.sg"


@pytest.fixture(scope="module")
def s_shop_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The reference API over a store imported from an S-5001-style shop's CSV, both reading its profile."""
    directory = tmp_path_factory.mktemp("s-shop-api")
    profile = write_profile(directory, lambda data: data.update(
        order_numbers={"pattern": r"S-\d{4,6}", "examples": ["S-5001"]}))
    url = f"sqlite:///{directory / 'shop.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PROFILE_ENV, str(profile))
        assert import_main(["generic", "--mapping", str(FIXTURES / "generic_mapping.toml"),
                            "--orders", str(FIXTURES / "generic_simple.csv"), "--database-url", url]) == 0
        server = reference_server(url, directory)  # inherits the profile from the environment
        with ProcessGroup([server], supervise=False):
            yield base_url(server), str(profile)


@pytest.fixture
def s_backend(s_shop_api: tuple[str, str], shopdesk_sessions: sessionmaker[Session],
              monkeypatch: pytest.MonkeyPatch) -> HttpOrderBackend:
    base, profile = s_shop_api
    monkeypatch.setenv(PROFILE_ENV, profile)  # ShopDesk's side reads the same profile
    return HttpOrderBackend(base, API_TOKEN, sessions=shopdesk_sessions, timeout_s=5)


def test_the_shops_numbers_are_checked_read_and_cancelled_over_http(s_backend: HttpOrderBackend) -> None:
    kate = s_backend.verify_owner("conv-s", "s-5001", KATE)
    assert kate is not None
    assert s_backend.order(kate, "order S-5001").number == "S-5001"
    assert [o.number for o in s_backend.recent_orders(kate)] == ["S-5002", "S-5001"]
    s_backend.cancel_order(kate, "#S-5002")
    assert s_backend.order(kate, "S-5002").status == "cancelled"
    with pytest.raises(OrderNotFound):
        s_backend.order(kate, "5001")  # not one of this shop's numbers: never sent
