"""Readiness of the scale-out profile: is every dependency and process reachable and serving?

Liveness endpoints answer "the process runs" (Rasa `/`, action server `/health`, analytics `/health`,
HAProxy `/health`, Chroma `/api/v2/heartbeat`); readiness answers "it can serve": Rasa `/status` (model
loaded; needs the API token), action server `/ready` (store database answers), analytics `/ready`
(RabbitMQ and its database), plus the backing services themselves. A container platform uses the
per-process ones as probes; operators and the launcher use this CLI for the whole picture:

    .venv/app/bin/python -m runtime.readiness            # exit 0 when everything is ready, else 1
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from runtime.scaleout import ScaleoutConfig


def _http(url: str, **params: str) -> str:
    try:
        reply = requests.get(url, params=params or None, timeout=3)
    except requests.RequestException as error:
        return f"unreachable ({type(error).__name__})"
    return "ok" if reply.status_code == 200 else f"HTTP {reply.status_code}: {reply.text[:120]}"


def _postgres(config: ScaleoutConfig, database: str) -> str:
    import psycopg

    try:
        with psycopg.connect(host=config.pg_host, port=config.pg_port, user=config.role, dbname=database,
                             connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return "ok"
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"


def _redis(config: ScaleoutConfig) -> str:
    import redis

    try:
        redis.Redis(host=config.redis_host, port=config.redis_port, socket_timeout=3).ping()
        return "ok"
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def _rabbitmq(config: ScaleoutConfig) -> str:
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(config.env()["SHOPDESK_AMQP_URL"])).close()
        return "ok"
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def check_all(config: ScaleoutConfig) -> dict[str, str]:
    token = config.env()["RASA_AUTH_TOKEN"]
    checks = {
        "postgresql:store": _postgres(config, config.store_db),
        "postgresql:tracker": _postgres(config, config.tracker_db),
        "postgresql:console": _postgres(config, config.console_db),
        "redis": _redis(config),
        "rabbitmq": _rabbitmq(config),
        "haproxy": _http(f"http://127.0.0.1:{config.stats_port}/health"),
        "analytics": _http(f"http://127.0.0.1:{config.consumer_port}/ready"),
    }
    if config.with_chroma:
        checks["chroma"] = _http(f"http://127.0.0.1:{config.chroma_port}/api/v2/heartbeat")
    for i, port in enumerate(config.rasa_instance_ports, start=1):
        checks[f"rasa{i}"] = _http(f"http://127.0.0.1:{port}/status", token=token)
    for i, port in enumerate(config.action_server_ports, start=1):
        checks[f"actions{i}"] = _http(f"http://127.0.0.1:{port}/ready")
    checks["rasa (through haproxy)"] = _http(f"{config.rasa_url}/status", token=token)
    return checks


def main() -> int:
    """Checks the default ports of `python -m runtime.scaleout` (instances are found through HAProxy)."""
    from runtime.scaleout import ScaleoutConfig

    config = ScaleoutConfig(rasa_instances=0, action_servers=0)
    checks = check_all(config)
    print(json.dumps(checks, indent=2))
    return 0 if all(v == "ok" for v in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
