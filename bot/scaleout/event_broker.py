"""A RabbitMQ event broker that publishes what it was handed before it lets go of the connection.

Rasa 3.6's `PikaEventBroker.publish` only schedules a background task per event, and its `close()` (which
Rasa calls when the server stops) closes the connection without waiting for those tasks. Under load
thousands of events are still queued in the event loop when an instance is restarted, and they were lost:
the analytics table missed 2,990 of 50,557 events across a rolling restart (docs/BENCHMARKS.md). This
subclass awaits the pending publishes, up to `flush_timeout` seconds, before closing.

Use in endpoints.yml as `event_broker: type: bot.scaleout.event_broker.FlushingPikaEventBroker`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import rasa.shared.core.events  # noqa: F401  (PikaEventBroker._publish uses it without importing it)
from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)


class FlushingPikaEventBroker(PikaEventBroker):
    """`PikaEventBroker` whose `close()` first waits for every event already handed to `publish()`."""

    def __init__(self, host: str, *args: Any, flush_timeout: float = 20.0, **kwargs: Any) -> None:
        super().__init__(host, *args, **kwargs)
        self.flush_timeout = float(flush_timeout)

    async def flush(self) -> int:
        """Wait for pending publishes; returns how many were still unfinished after `flush_timeout`."""
        pending = [task for task in self._background_tasks if not task.done()]
        if not pending:
            return 0
        _, unfinished = await asyncio.wait(pending, timeout=self.flush_timeout)
        if unfinished:
            logger.error("event broker: %d of %d events unpublished after %.0f s", len(unfinished), len(pending),
                         self.flush_timeout)
        else:
            logger.info("event broker: published the %d pending events before closing", len(pending))
        return len(unfinished)

    async def close(self) -> None:
        await self.flush()
        await super().close()
