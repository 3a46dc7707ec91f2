"""The scale-out profile on the machine's real PostgreSQL, Redis and RabbitMQ (started if not running).

One isolated deployment per session (own databases, lock prefix, exchange/queue and ports, so it can
run beside a live profile or another engineer's run): 2 Rasa instances and 2 action servers behind
HAProxy, the analytics consumer and a Chroma server, with the trained model in models/. The store is
seeded from the tiny fixture (orders 900002 shipped, 900003 delivered) to keep start-up short.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import latest_model

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "online_retail_tiny.csv"


@pytest.fixture(scope="session")
def scaleout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from runtime.scaleout import ScaleoutConfig, ScaleoutStack, haproxy_binary, remove_isolated

    try:
        haproxy_binary()
    except Exception as error:  # the profile's setup installs it; say so instead of failing obscurely
        pytest.fail(f"{error}")
    if shutil.which("pg_ctlcluster") is None and shutil.which("psql") is None:
        pytest.fail("PostgreSQL is not installed on this machine")
    config = ScaleoutConfig.isolated(tmp_path_factory.mktemp("scaleout"), f"t{uuid.uuid4().hex[:8]}",
                                     model=latest_model(), rasa_instances=2, action_servers=2,
                                     seed_data=FIXTURE)
    stack = ScaleoutStack(config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        remove_isolated(config)
