"""The scale-out profile: ShopDesk on PostgreSQL, Redis, RabbitMQ and a Chroma server, with several Rasa
instances and action servers behind HAProxy.

    .venv/app/bin/python -m runtime.scaleout [--rasa-instances 2] [--action-servers 2]

Customers and channels reach Rasa through HAProxy on :5005 (same REST URL as the default profile); Rasa
reaches the action servers through HAProxy on :5055. Conversations live in PostgreSQL (tracker store),
Redis holds conversation locks (so any instance can serve any conversation, in order), every tracker
event goes through RabbitMQ to runtime/analytics_consumer.py (PostgreSQL). The store database is
PostgreSQL too, migrated with Alembic and seeded once. Processes that die or hang are logged and restarted
with back-off (runtime/supervisor.py, the same supervision as the demo launcher); HAProxy routes around
them meanwhile. Rasa's API token and the action servers' token reach the processes through their
environment only. The embedded default is runtime/stack.py.

docs/deployment.md describes every process, port, variable and pool; deploy/scaleout/ holds the files.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from runtime.processes import ProcessGroup, ServerProcess, StartupError
from runtime.stack import (
    APP_PYTHON,
    OFFLINE_ENV,
    PROJECT_ROOT,
    action_server_command,
    project_env,
    rasa_command,
    require_secrets,
)
from runtime.supervisor import log_supervision_to

logger = logging.getLogger("shopdesk.scaleout")
DEPLOY = PROJECT_ROOT / "deploy" / "scaleout"
CHROMA_BIN = PROJECT_ROOT / ".venv" / "app" / "bin" / "chroma"
DEMO_DATA = PROJECT_ROOT.parent / "shared" / "data" / "online_retail" / "online_retail_sample.csv"

# How each backing service is started when it is not running (Debian packages, as on this machine).
SERVICE_STARTERS = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": ("redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
              "--dir /var/lib/redis --logfile /var/log/redis/ci.log"),
    "rabbitmq": "rabbitmq-server -detached",
}


_handed_out: set[int] = set()


def service_port(low: int = 20000, high: int = 32000) -> int:
    """A free port for a server we start, below the kernel's ephemeral range (32768+).

    runtime.processes.free_port() asks the kernel for an ephemeral port; a Rasa instance binds its port
    only after loading the model (half a minute on a busy machine), and meanwhile any outgoing connection
    (to PostgreSQL, Redis, RabbitMQ...) may be given that same ephemeral port. Ports here never are.
    """
    import random

    for _ in range(200):
        port = random.randrange(low, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StartupError(f"no free port between {low} and {high}")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_backing_services(host: str = "127.0.0.1", timeout: float = 90) -> None:
    """Start PostgreSQL, Redis and RabbitMQ with the machine's own commands if they are not listening."""
    ports = {"postgresql": 5432, "redis": 6379, "rabbitmq": 5672}
    for name, port in ports.items():
        if port_open(host, port):
            continue
        logger.warning("%s is not listening on %s:%d; starting it", name, host, port)
        subprocess.run(SERVICE_STARTERS[name], shell=True, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not port_open(host, port):
            if time.monotonic() > deadline:
                raise StartupError(f"{name} did not come up on {host}:{port} (tried: {SERVICE_STARTERS[name]})")
            time.sleep(0.5)
    # RabbitMQ opens its port before it accepts AMQP logins; wait for a real connection.
    wait_for_amqp(f"amqp://guest:guest@{host}:5672/%2F", timeout)


def wait_for_amqp(url: str, timeout: float) -> None:
    import pika

    deadline = time.monotonic() + timeout
    while True:
        try:
            pika.BlockingConnection(pika.URLParameters(url)).close()
            return
        except Exception as error:
            if time.monotonic() > deadline:
                raise StartupError(f"RabbitMQ does not accept connections at {url}: {error}") from error
            time.sleep(1)


@dataclass
class ScaleoutConfig:
    """Everything that differs between two scale-out deployments on one machine (names, ports, sizes)."""

    model: Path = PROJECT_ROOT / "models"
    rasa_instances: int = 2
    action_servers: int = 2
    run_dir: Path = PROJECT_ROOT / "var" / "scaleout"
    rasa_port: int = 5005            # HAProxy: customers, channels, the HTTP API
    actions_port: int = 5055         # HAProxy: Rasa -> action servers
    stats_port: int = 8404           # HAProxy: /health and /stats
    consumer_port: int = 5070        # analytics consumer: /health, /ready
    chroma_port: int = 8000
    with_chroma: bool = True
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_admin_user: str = "postgres"
    role: str = "shopdesk"
    store_db: str = "shopdesk_store"
    tracker_db: str = "shopdesk_tracker"
    console_db: str = "shopdesk_console"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_lock_db: int = 1
    lock_prefix: str = "shopdesk"
    amqp_host: str = "127.0.0.1"
    amqp_port: int = 5672
    exchange: str = "shopdesk-events"
    queue: str = "shopdesk_analytics"
    seed_data: Path = DEMO_DATA
    seed: int = 7
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    rasa_instance_ports: list[int] = field(default_factory=list)
    action_server_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rasa_instance_ports = self.rasa_instance_ports or [service_port() for _ in range(self.rasa_instances)]
        self.action_server_ports = self.action_server_ports or [service_port() for _ in range(self.action_servers)]

    @classmethod
    def isolated(cls, run_dir: Path, suffix: str, **overrides: object) -> ScaleoutConfig:
        """Own databases, lock prefix, exchange/queue and free ports: for tests and benchmarks beside a live one."""
        values: dict[str, object] = dict(
            run_dir=run_dir, rasa_port=service_port(), actions_port=service_port(), stats_port=service_port(),
            consumer_port=service_port(), chroma_port=service_port(), store_db=f"shopdesk_store_{suffix}",
            tracker_db=f"shopdesk_tracker_{suffix}", console_db=f"shopdesk_console_{suffix}",
            lock_prefix=f"shopdesk{suffix}", exchange=f"shopdesk-events-{suffix}", queue=f"shopdesk_analytics_{suffix}")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def pg_url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.role}@{self.pg_host}:{self.pg_port}/{database}"

    @property
    def database_url(self) -> str:
        return self.pg_url(self.store_db)

    @property
    def tracker_url(self) -> str:
        return self.pg_url(self.tracker_db)

    @property
    def console_url(self) -> str:
        return self.pg_url(self.console_db)

    def env(self) -> dict[str, str]:
        env = {**OFFLINE_ENV, **project_env(), **self.extra_env}
        require_secrets(env)
        env.update({
            "SHOPDESK_PROFILE": "scaleout",
            "SANIC_HOST": "127.0.0.1",
            "LOG_LEVEL": self.log_level,
            # store database: action servers (pool per process) and web apps
            "SHOPDESK_DATABASE_URL": self.database_url,
            "SHOPDESK_DB_POOL_SIZE": "5", "SHOPDESK_DB_MAX_OVERFLOW": "5", "SHOPDESK_DB_POOL_TIMEOUT": "5",
            "SHOPDESK_ANALYTICS_DATABASE_URL": self.console_url,
            "SHOPDESK_CONSOLE_DATABASE_URL": self.console_url,
            # Rasa: tracker store (pool per instance), lock store, event broker, action endpoint
            "TRACKER_DB_HOST": self.pg_host, "TRACKER_DB_PORT": str(self.pg_port), "TRACKER_DB": self.tracker_db,
            "TRACKER_DB_USER": self.role, "TRACKER_DB_PASSWORD": env.get("SHOPDESK_PG_PASSWORD", ""),
            "SHOPDESK_TRACKER_URL": self.tracker_url,  # the same tracker, for the console's training loop
            "SQL_POOL_SIZE": "5", "SQL_MAX_OVERFLOW": "5",
            "REDIS_HOST": self.redis_host, "REDIS_PORT": str(self.redis_port),
            "REDIS_LOCK_DB": str(self.redis_lock_db), "REDIS_LOCK_PREFIX": self.lock_prefix,
            "SHOPDESK_REDIS_URL": f"redis://{self.redis_host}:{self.redis_port}/2",
            "RABBITMQ_HOST": self.amqp_host, "RABBITMQ_PORT": str(self.amqp_port),
            "RABBITMQ_USERNAME": env.get("RABBITMQ_USERNAME", "guest"),
            "RABBITMQ_PASSWORD": env.get("RABBITMQ_PASSWORD", "guest"),
            "RABBITMQ_EXCHANGE": self.exchange, "RABBITMQ_QUEUE": self.queue,
            "SHOPDESK_AMQP_URL": f"amqp://{env.get('RABBITMQ_USERNAME', 'guest')}:"
                                 f"{env.get('RABBITMQ_PASSWORD', 'guest')}@{self.amqp_host}:{self.amqp_port}/%2F",
            "SHOPDESK_EVENTS_EXCHANGE": self.exchange, "SHOPDESK_EVENTS_QUEUE": self.queue,
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
        })
        if self.with_chroma:
            env["SHOPDESK_CHROMA_URL"] = f"http://127.0.0.1:{self.chroma_port}"
        return env


# ---------------------------------------------------------------------------------------------- databases

def admin_connection(config: ScaleoutConfig):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(host=config.pg_host, port=config.pg_port, user=config.pg_admin_user,
                           dbname="postgres", autocommit=True, connect_timeout=5)


def provision_databases(config: ScaleoutConfig, seed_store: bool = True) -> None:
    """Role and databases (idempotent), Alembic migrations on the store, demo seed once."""
    from psycopg import sql

    with admin_connection(config) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (config.role,)).fetchone():
            password = project_env().get("SHOPDESK_PG_PASSWORD") or os.environ.get("SHOPDESK_PG_PASSWORD")
            statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(config.role))
            if password:
                statement = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(config.role), sql.Literal(password))
            conn.execute(statement)
        for database in (config.store_db, config.tracker_db, config.console_db):
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(config.role)))
    from store.seed import main as seed_main

    args = ["--database-url", config.database_url, "--seed", str(config.seed), "--data", str(config.seed_data)]
    if seed_store:
        if seed_main([*args, "--if-empty"]) != 0:
            raise StartupError("seeding the store database failed")
    else:
        from store.db import make_engine
        from store.migrate import upgrade_database

        engine = make_engine(config.database_url)
        upgrade_database(engine)
        engine.dispose()


def drop_databases(config: ScaleoutConfig) -> None:
    """Remove an isolated deployment's databases (tests, benchmarks)."""
    from psycopg import sql

    with admin_connection(config) as conn:
        for database in (config.store_db, config.tracker_db, config.console_db):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def remove_isolated(config: ScaleoutConfig) -> None:
    """Everything an isolated deployment left behind: its databases, its queue and exchange, its lock keys."""
    import pika
    import redis

    drop_databases(config)
    with contextlib.suppress(Exception):
        connection = pika.BlockingConnection(pika.URLParameters(config.env()["SHOPDESK_AMQP_URL"]))
        channel = connection.channel()
        channel.queue_delete(queue=config.queue)
        channel.exchange_delete(exchange=config.exchange)
        connection.close()
    with contextlib.suppress(Exception):
        client = redis.Redis(host=config.redis_host, port=config.redis_port, db=config.redis_lock_db)
        for key in client.scan_iter(f"{config.lock_prefix}:*"):
            client.delete(key)


@contextmanager
def store_database_blocked(config: ScaleoutConfig) -> Iterator[None]:
    """Make the store database unavailable (refuse and cut connections), always restoring it afterwards.

    Simulates a database failover or restart without touching the tracker store on the same server.
    """
    from psycopg import sql

    name = sql.Identifier(config.store_db)
    with admin_connection(config) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                     "pg_backend_pid()", (config.store_db,))
    try:
        yield
    finally:
        with admin_connection(config) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))


# ---------------------------------------------------------------------------------------------- processes

def render_haproxy(config: ScaleoutConfig) -> Path:
    """haproxy.cfg from deploy/scaleout/haproxy.cfg.template, plus the fallback HTTP responses it serves."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    fallbacks = {}
    for name in ("action_unavailable", "rest_unavailable"):
        body = (DEPLOY / f"{name}.json").read_text().strip().encode()
        path = config.run_dir / f"{name}.http"
        path.write_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        fallbacks[name] = path
    ports = list(enumerate(config.rasa_instance_ports, start=1))
    # Unchecked backups of the same instances: used only if every checked one is marked down (e.g. all too
    # busy to answer checks in time); a really dead one still fails fast and the request is retried.
    backups = [f"    server rasa{i}-unchecked 127.0.0.1:{port} backup" for i, port in ports]
    rasa = "\n".join([f"    server rasa{i} 127.0.0.1:{port} check" for i, port in ports] + backups)
    tracking = "\n".join([f"    server rasa{i} 127.0.0.1:{port} track rasa/rasa{i}" for i, port in ports]
                          + backups)
    action_ports = list(enumerate(config.action_server_ports, start=1))
    actions = "\n".join([f"    server actions{i} 127.0.0.1:{port} check" for i, port in action_ports]
                         + [f"    server actions{i}-unchecked 127.0.0.1:{port} backup" for i, port in action_ports])
    text = string.Template((DEPLOY / "haproxy.cfg.template").read_text()).substitute(
        bind_host="127.0.0.1", rasa_port=config.rasa_port, actions_port=config.actions_port,
        stats_port=config.stats_port, stats_socket=config.run_dir / "haproxy.sock",
        server_maxconn=64, rasa_servers=rasa, rasa_tracking_servers=tracking, action_servers=actions,
        action_fallback_json=DEPLOY / "action_unavailable.json",
        action_fallback_http=fallbacks["action_unavailable"], rest_fallback_http=fallbacks["rest_unavailable"])
    path = config.run_dir / "haproxy.cfg"
    path.write_text(text)
    return path


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise StartupError("haproxy is not installed: run scripts/setup.sh (apt-get install -y haproxy)")
    return found


def scaleout_servers(config: ScaleoutConfig) -> dict[str, ServerProcess]:
    """Every process of the profile by name, in start order."""
    env, logs = config.env(), config.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers: dict[str, ServerProcess] = {}
    if config.with_chroma:
        servers["chroma"] = ServerProcess(
            name="chroma", command=[str(CHROMA_BIN), "run", "--path", str(config.run_dir / "chroma"),
                                    "--host", "127.0.0.1", "--port", str(config.chroma_port)],
            health_url=f"http://127.0.0.1:{config.chroma_port}/api/v2/heartbeat", env=env, cwd=PROJECT_ROOT,
            log_path=logs / "chroma.log")
    servers["analytics"] = ServerProcess(
        name="analytics", command=[str(APP_PYTHON), "-m", "runtime.analytics_consumer",
                                   "--health-port", str(config.consumer_port)],
        health_url=f"http://127.0.0.1:{config.consumer_port}/health", env=env, cwd=PROJECT_ROOT,
        log_path=logs / "analytics.log")
    for i, port in enumerate(config.action_server_ports, start=1):
        servers[f"actions{i}"] = ServerProcess(
            name=f"actions{i}",
            command=action_server_command(port, "--logging-config-file", str(DEPLOY / "logging-actions.yml")),
            health_url=f"http://127.0.0.1:{port}/health", env=env, cwd=PROJECT_ROOT,
            log_path=logs / f"actions{i}.log")
    for i, port in enumerate(config.rasa_instance_ports, start=1):
        servers[f"rasa{i}"] = ServerProcess(
            name=f"rasa{i}",
            command=rasa_command(config.model, port, DEPLOY / "endpoints.yml", DEPLOY / "credentials.yml"),
            health_url=f"http://127.0.0.1:{port}/", env=env, cwd=PROJECT_ROOT, log_path=logs / f"rasa{i}.log")
    servers["haproxy"] = ServerProcess(
        name="haproxy", command=[haproxy_binary(), "-db", "-f", str(render_haproxy(config))],
        health_url=f"http://127.0.0.1:{config.stats_port}/health", env=env, cwd=PROJECT_ROOT,
        log_path=logs / "haproxy.log")
    return servers


class ScaleoutStack:
    """The profile's processes as one unit, supervised by their ProcessGroup (dead or hung ones are restarted
    with back-off), with fault hooks."""

    def __init__(self, config: ScaleoutConfig, seed_store: bool = True, supervise: bool = True) -> None:
        self.config, self.seed_store, self.supervise = config, seed_store, supervise
        self.servers = scaleout_servers(config)
        self.group = ProcessGroup(list(self.servers.values()), supervise=supervise)

    @property
    def restarts(self) -> dict[str, int]:
        """Restarts by the supervisor so far, per process name."""
        return self.group.restarts

    def start(self, timeout: float = 420) -> None:
        ensure_backing_services(self.config.pg_host)
        provision_databases(self.config, seed_store=self.seed_store)
        self.group.start(timeout=timeout)
        self.wait_until_serving(timeout=60)

    def wait_until_serving(self, timeout: float) -> None:
        """HAProxy sees every Rasa instance and action server as up (its checks, not just ours)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.haproxy_states()
            wanted = [f"rasa/rasa{i + 1}" for i in range(self.config.rasa_instances)] + \
                     [f"actions/actions{i + 1}" for i in range(self.config.action_servers)]
            if all(states.get(name) == "UP" for name in wanted):
                return
            if time.monotonic() > deadline:
                raise StartupError(f"HAProxy does not see all servers up: {states}")
            time.sleep(0.5)

    def stop(self) -> None:
        self.group.stop()  # supervision ends first, so nothing is restarted behind our back

    def __enter__(self) -> ScaleoutStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HAProxy runtime API
    def haproxy_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.config.run_dir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def haproxy_states(self) -> dict[str, str]:
        """'backend/server' -> status (UP, DOWN, MAINT, DRAIN...) from `show stat`."""
        try:
            lines = self.haproxy_command("show stat").splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",") if lines else []
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("svname") not in (None, "", "FRONTEND", "BACKEND"):
                states[f"{row['pxname']}/{row['svname']}"] = row.get("status", "")
        return states

    # -- faults and operations
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a process abruptly (it is restarted by the supervisor)."""
        server = self.servers[name]
        if server.process is not None:
            os.killpg(server.process.pid, sig)

    def rolling_restart(self, name: str, drain_timeout: float = 30, start_timeout: float = 300) -> float:
        """Restart one Rasa instance without losing a message: drain it in HAProxy, restart, re-enable.

        Returns the seconds the instance was out of rotation.
        """
        server, began = self.servers[name], time.monotonic()
        with self.group.hold(name):
            self.haproxy_command(f"set server rasa/{name} state drain")
            deadline = time.monotonic() + drain_timeout
            while (self._current_sessions("rasa", name) + self._current_sessions("rasa_webhooks", name) > 0
                   and time.monotonic() < deadline):
                time.sleep(0.1)
            self.haproxy_command(f"set server rasa/{name} state maint")
            server.stop()
            server.start()
            deadline = time.monotonic() + start_timeout
            while not server.healthy():
                if not server.alive() or time.monotonic() > deadline:
                    raise StartupError(f"{name} did not come back:\n{server.log_tail()}")
                time.sleep(0.5)
            self.haproxy_command(f"set server rasa/{name} state ready")
        return time.monotonic() - began

    def _current_sessions(self, backend: str, server: str) -> int:
        lines = self.haproxy_command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == backend and row.get("svname") == server:
                return int(row.get("scur") or 0)
        return 0

    def restart_redis(self, down_seconds: float = 2.0) -> float:
        """Restart the Redis server (SHUTDOWN NOSAVE, `down_seconds` later the machine's start command, as in a
        failover); returns the downtime."""
        began = time.monotonic()
        subprocess.run(["redis-cli", "-h", self.config.redis_host, "-p", str(self.config.redis_port), "shutdown",
                        "nosave"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        while port_open(self.config.redis_host, self.config.redis_port, 0.2):
            time.sleep(0.05)
        time.sleep(down_seconds)
        subprocess.run(SERVICE_STARTERS["redis"], shell=True, check=True, stdout=subprocess.DEVNULL)
        while not port_open(self.config.redis_host, self.config.redis_port, 0.2):
            time.sleep(0.05)
        return time.monotonic() - began


def ingest_knowledge(config: ScaleoutConfig) -> bool:
    """Load the shop's documents (knowledge/docs) into the Chroma server; re-runs skip unchanged files."""
    docs = PROJECT_ROOT / "knowledge" / "docs"
    if not config.with_chroma or not docs.is_dir():
        return False
    result = subprocess.run([str(APP_PYTHON), "-m", "knowledge.ingest", str(docs), "--chroma-url",
                             f"http://127.0.0.1:{config.chroma_port}", "--no-progress"], cwd=PROJECT_ROOT,
                            env=config.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode == 2:
        logger.warning("knowledge ingestion failed:\n%s", result.stdout[-2000:])
    return result.returncode in (0, 1)


def readiness(config: ScaleoutConfig) -> dict[str, str]:
    """Dependencies and processes of the profile, each 'ok' or why not (readiness for operators and probes)."""
    from runtime.readiness import check_all

    return check_all(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rasa-instances", type=int, default=int(os.environ.get("SHOPDESK_RASA_INSTANCES", "2")))
    parser.add_argument("--action-servers", type=int, default=int(os.environ.get("SHOPDESK_ACTION_SERVERS", "2")))
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--no-chroma", action="store_true", help="do not start a Chroma server")
    parser.add_argument("--setup-only", action="store_true", help="provision databases and exit")
    parser.add_argument("--no-knowledge", action="store_true", help="do not load knowledge/docs into Chroma")
    parser.add_argument("--as-customer", type=int, default=None, help="chat as this verified customer id")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    config = ScaleoutConfig(rasa_instances=args.rasa_instances, action_servers=args.action_servers,
                            rasa_port=args.rasa_port, actions_port=args.actions_port, with_chroma=not args.no_chroma)
    if args.setup_only:
        ensure_backing_services(config.pg_host)
        provision_databases(config)
        print("databases ready:", config.store_db, config.tracker_db, config.console_db)
        return 0
    log_supervision_to(config.run_dir / "logs" / "supervisor.log")
    stack = ScaleoutStack(config)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Starting the scale-out profile: {config.rasa_instances} Rasa instance(s), {config.action_servers} "
          "action server(s), HAProxy, analytics consumer" + ("" if args.no_chroma else ", Chroma server") + "...",
          flush=True)
    try:
        stack.start()
        if not args.no_chroma and not args.no_knowledge:
            print("Loading the shop's documents into the Chroma server...", flush=True)
            ingest_knowledge(config)
        print(f"Ready. REST: {config.rasa_url}/webhooks/shopdesk_rest/webhook; HAProxy stats: "
              f"http://127.0.0.1:{config.stats_port}/stats; logs in {config.run_dir / 'logs'}.")
        print("Readiness: " + ", ".join(f"{k}={v}" for k, v in readiness(config).items()))
        from runtime.demo import chat_or_serve

        chat_or_serve(config.rasa_url, config.env()["SHOPDESK_SIGNING_KEY"], args.as_customer)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping...")
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

