"""Feeds conversation analytics from Rasa's event broker (RabbitMQ) into PostgreSQL.

Rasa (deploy/scaleout/endpoints.yml, `event_broker`: bot/scaleout/event_broker.py, Rasa's pika broker
that flushes before it stops) publishes every tracker event to a fanout exchange; this consumer drains
its durable queue into `conversation_events` (one row per event)
in the console/analytics database, where the agent console and dashboards read them. Delivery is
at-least-once (ack after commit) and rows are idempotent (unique digest of the event body, ON CONFLICT
DO NOTHING), so a consumer restart neither loses nor double-counts events.

    .venv/app/bin/python -m runtime.analytics_consumer --health-port 5070

Environment: SHOPDESK_ANALYTICS_DATABASE_URL (SQLAlchemy URL), SHOPDESK_AMQP_URL
(amqp://guest:guest@127.0.0.1:5672/%2F), SHOPDESK_EVENTS_EXCHANGE (rasa-exchange),
SHOPDESK_EVENTS_QUEUE (shopdesk_analytics). `/health` = consumer thread alive; `/ready` = connected
to RabbitMQ and the database answers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pika
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from runtime.structured_logging import configure_json_logging, conversation_id

logger = logging.getLogger("shopdesk.analytics")
metadata = MetaData()
conversation_events = Table(
    "conversation_events", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("sender_id", String(255), nullable=False),
    Column("event", String(64), nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Index("ix_conversation_events_sender_ts", "sender_id", "timestamp"),
)
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def event_row(body: bytes) -> dict[str, Any]:
    event = json.loads(body)
    return {"digest": hashlib.sha256(body).hexdigest(), "sender_id": str(event.get("sender_id") or ""),
            "event": str(event.get("event") or "?"), "timestamp": float(event.get("timestamp") or 0.0),
            "body": event}


class AnalyticsConsumer:
    """Blocking pika consumer writing batches of events; reconnects whenever RabbitMQ or the DB blink."""

    def __init__(self, engine: Engine, amqp_url: str, exchange: str, queue: str, batch: int = 200) -> None:
        self.engine, self.amqp_url, self.exchange, self.queue, self.batch = engine, amqp_url, exchange, queue, batch
        self.connected = False
        self.stopping = threading.Event()

    def declare(self, channel: Any) -> None:
        """Same declarations as Rasa's broker, so whichever starts first, no event is dropped."""
        channel.exchange_declare(exchange=self.exchange, exchange_type="fanout")
        channel.queue_declare(queue=self.queue, durable=True)
        channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key="")

    def store(self, bodies: list[bytes]) -> None:
        rows = [event_row(b) for b in bodies]
        with self.engine.begin() as connection:
            connection.execute(insert(conversation_events).on_conflict_do_nothing(index_elements=["digest"]), rows)

    def run_once(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            channel = connection.channel()
            self.declare(channel)
            channel.basic_qos(prefetch_count=self.batch)
            self.connected = True
            logger.info("consuming %s from exchange %s", self.queue, self.exchange)
            while not self.stopping.is_set():
                pending: list[tuple[int, bytes]] = []
                for method, _props, body in channel.consume(self.queue, inactivity_timeout=0.5):
                    if method is None:
                        break
                    pending.append((method.delivery_tag, body))
                    if len(pending) >= self.batch:
                        break
                if pending:
                    self.store([body for _, body in pending])
                    channel.basic_ack(delivery_tag=pending[-1][0], multiple=True)
                    conversation_id.set(None)
            channel.cancel()
        finally:
            self.connected = False
            if connection.is_open:
                connection.close()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception as error:
                logger.warning("consumer interrupted (%s: %s); reconnecting in 1s", type(error).__name__, error)
                self.stopping.wait(1)

    def ready(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return self.connected


def serve_health(consumer: AnalyticsConsumer, worker: threading.Thread, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                ok = worker.is_alive()
            elif self.path == "/ready":
                ok = worker.is_alive() and consumer.ready()
            else:
                self.send_error(404)
                return
            payload = json.dumps({"status": "ok" if ok else "unavailable"}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--health-port", type=int, default=5070)
    args = parser.parse_args()
    configure_json_logging(os.environ.get("LOG_LEVEL", "INFO"))
    engine = create_engine(os.environ["SHOPDESK_ANALYTICS_DATABASE_URL"], pool_size=2, max_overflow=2,
                           pool_pre_ping=True)
    for attempt in range(30):
        try:
            metadata.create_all(engine)
            break
        except Exception as error:
            logger.warning("analytics database not reachable yet (%s)", error)
            time.sleep(1 + attempt * 0.2)
    consumer = AnalyticsConsumer(engine, os.environ.get("SHOPDESK_AMQP_URL", DEFAULT_AMQP),
                                 os.environ.get("SHOPDESK_EVENTS_EXCHANGE", "rasa-exchange"),
                                 os.environ.get("SHOPDESK_EVENTS_QUEUE", "shopdesk_analytics"))
    worker = threading.Thread(target=consumer.run, name="consumer")
    worker.start()
    server = serve_health(consumer, worker, args.health_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    consumer.stopping.set()
    worker.join(timeout=10)
    server.shutdown()


if __name__ == "__main__":
    main()
