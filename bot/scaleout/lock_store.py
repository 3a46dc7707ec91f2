"""Rasa's Redis lock store, made to ride out a short Redis outage (restart, failover).

Several Rasa instances behind the load balancer share conversation locks in Redis, so messages of one
conversation are processed one at a time and in order whichever instance receives them. Rasa's own
RedisLockStore fails the message at once when Redis is briefly unreachable; this subclass retries the
lock bookkeeping with a short async back-off for up to `retry_seconds` and only then gives up (the
channel answers "temporarily unavailable"). Configured in deploy/scaleout/endpoints.yml as
`lock_store: type: bot.scaleout.lock_store.ResilientRedisLockStore`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")
TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def _is_transient(error: BaseException) -> bool:
    """LockError wraps the Redis error raised inside issue_ticket; look through it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, TRANSIENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ResilientRedisLockStore(RedisLockStore):
    """RedisLockStore whose Redis calls are retried with back-off while Redis restarts."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        kwargs = dict(endpoint_config.kwargs)
        self.retry_seconds = float(kwargs.pop("retry_seconds", 10))
        super().__init__(host=endpoint_config.url or "localhost", **kwargs)

    async def _retry(self, what: str, call: Callable[[], T]) -> T:
        deadline, delay = time.monotonic() + self.retry_seconds, 0.05
        while True:
            try:
                return call()
            except Exception as error:
                if not _is_transient(error) or time.monotonic() > deadline:
                    raise
                logger.warning("Redis unreachable during %s (%s); retrying in %.2fs", what, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = await self._retry("issue_ticket", lambda: self.issue_ticket(conversation_id, lock_lifetime))
        try:
            yield await self._acquire(conversation_id, ticket, wait_time_in_seconds)
        finally:
            await self._retry("cleanup", lambda: self.cleanup(conversation_id, ticket))

    async def _acquire(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's polling acquire loop, with each Redis round trip retried (polling is lighter: 50 ms)."""
        wait = min(wait_time_in_seconds, 0.05)
        while True:
            lock = await self._retry("get_lock", lambda: self.get_lock(conversation_id))
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait)
            await self._retry("update_lock", lambda: self.update_lock(conversation_id))
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    def describe(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "retry_seconds": self.retry_seconds}
