"""One OrderDesk (and so one database engine and connection pool) per action-server process."""

from __future__ import annotations

from functools import lru_cache

from store.service import OrderDesk


@lru_cache(maxsize=1)
def order_desk() -> OrderDesk:
    return OrderDesk()
