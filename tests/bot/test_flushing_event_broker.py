"""The scale-out event broker publishes every event it was handed before closing, on the real RabbitMQ."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

RABBIT = ("127.0.0.1", 5672)


def _rabbit_up() -> bool:
    try:
        socket.create_connection(RABBIT, timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _rabbit_up(), reason="RabbitMQ is not running on 127.0.0.1:5672")


async def _publish_then_close(count: int, exchange: str, queue: str) -> int:
    import aio_pika
    from rasa.utils.endpoints import EndpointConfig

    from bot.scaleout.event_broker import FlushingPikaEventBroker

    config = EndpointConfig(url=RABBIT[0], port=RABBIT[1], username="guest", password="guest",
                            exchange_name=exchange, queues=[queue], type="pika")
    broker = await FlushingPikaEventBroker.from_endpoint_config(config, asyncio.get_running_loop())
    for index in range(count):
        broker.publish({"event": "user", "sender_id": "flush-test", "text": f"message {index}", "timestamp": index})
    await broker.close()  # what Rasa calls when the server stops: right after the last publish

    connection = await aio_pika.connect_robust(host=RABBIT[0], port=RABBIT[1], login="guest", password="guest")
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        arrived = declared.declaration_result.message_count
        await declared.delete(if_unused=False, if_empty=False)
        await channel.exchange_delete(exchange)
    return arrived


def test_every_event_handed_to_publish_reaches_the_queue_although_close_comes_at_once():
    suffix = uuid.uuid4().hex[:8]
    assert asyncio.run(_publish_then_close(2000, f"shopdesk-flush-{suffix}", f"shopdesk-flush-{suffix}")) == 2000
