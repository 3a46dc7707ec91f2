"""One order backend (and so one database engine, or one HTTP connection pool) per action-server process.

Which one is the environment's: $SHOPDESK_ORDER_BACKEND `sql` (default, ShopDesk's store) or `http` (the
shop's own order API, docs/order-api.md); store.backend.configured_backend reads it.
"""

from __future__ import annotations

from functools import lru_cache

from store.backend import OrderBackend, configured_backend


@lru_cache(maxsize=1)
def order_desk() -> OrderBackend:
    return configured_backend()
