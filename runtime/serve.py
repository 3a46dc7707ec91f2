"""The production profile: every ShopDesk process supervised, on loopback, behind nginx with TLS.

    python -m runtime.serve --data-dir /var/lib/shopdesk [--env-file /etc/shopdesk/shopdesk.env]
    python -m runtime.serve --new-env FILE      # write fresh secrets for a new deployment (mode 0600)
    python -m runtime.serve --check ...         # say what would stop it from starting, start nothing

Processes: action server, Rasa server, web app (widget script and API), agent console, all bound to
127.0.0.1, and nginx, the one public entry point (deploy/production/nginx.conf.template): TLS on
SHOPDESK_HTTPS_PORT for the widget, its socket.io connection and the channel webhooks, the console on
SHOPDESK_CONSOLE_HTTPS_PORT; Rasa's HTTP API and the action server are not routed. Every process is
supervised as in the demo (runtime/supervisor.py: restart with back-off, hung ones killed; records in
<data dir>/logs/supervisor.log and on stderr, each process's output in <data dir>/logs/<name>.log).

Every setting comes from the environment (and --env-file, which systemd's EnvironmentFile also reads),
never from the checkout's .env, and the state from one data directory (shopdesk/layout.py). It refuses to
start, listing every reason, with demo mode, a missing, short, shared or test secret, the demo's console
account or password, the repository's demo shop profile, a non-HTTPS public URL or allowed origin, a store
not migrated to this release (`shopdesk migrate`), no model or no certificate. docs/production.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from runtime.processes import ProcessGroup, ServerProcess
from runtime.stack import PROJECT_ROOT, StackConfig, console_server, shopdesk_servers
from runtime.supervisor import log_supervision_to
from shopdesk import __version__
from shopdesk.layout import DataDir, newest_model

logger = logging.getLogger("shopdesk.serve")
TEMPLATE = PROJECT_ROOT / "deploy" / "production" / "nginx.conf.template"
ACTION_FALLBACK = PROJECT_ROOT / "deploy" / "scaleout" / "action_unavailable.json"
REPOSITORY_PROFILE = PROJECT_ROOT / "shop.yml"
DEMO_AGENT = "demo.agent@shopdesk.example"
# Every secret a production process needs; each its own value (docs/security.md).
SECRETS = ("RASA_AUTH_TOKEN", "SHOPDESK_ACTION_TOKEN", "SHOPDESK_SIGNING_KEY", "SHOPDESK_REST_TOKEN",
           "SHOPDESK_WEBHOOK_SECRET", "FLASK_SECRET_KEY", "SHOPDESK_CONSOLE_SECRET_KEY", "SHOPDESK_IDENTITY_SECRET")
MIN_SECRET_CHARS = 32  # scripts/setup.sh and --new-env write 43 (32 random bytes)
# Values that appear in this repository's tests, docs and examples: public, so never a production secret.
KNOWN_VALUES = ("from-env", "secret", "changeme", "change-me", "signing-key-for-tests-0123456789",
                "signing-key-for-training-tests", "console-key-0123456789", "the-same-key-0123456789")


class Template(string.Template):
    delimiter = "@"  # nginx's own variables are $name


@dataclass(frozen=True)
class ProductionConfig:
    """Ports, addresses and files of one production deployment, from the environment."""

    data: DataDir
    public_url: str
    bind: str = "0.0.0.0"
    https_port: int = 443
    http_port: int = 80               # 0: no plain-HTTP listener (it only redirects to HTTPS)
    console_port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    rasa_port: int = 5005
    actions_port: int = 5055
    actions_proxy_port: int = 5056     # nginx, on loopback: Rasa -> action server with a fallback answer
    web_port: int = 8080
    console_internal_port: int = 8090
    status_port: int = 8081

    @classmethod
    def from_env(cls, env: Mapping[str, str], data_dir: Path) -> ProductionConfig:
        def port(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            try:
                return int(raw) if raw else default
            except ValueError:
                raise SystemExit(f"{name} must be a port number, not {raw!r}") from None

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls(
            data=DataDir(data_dir), public_url=env.get("SHOPDESK_PUBLIC_URL", "").rstrip("/"),
            bind=env.get("SHOPDESK_BIND", "0.0.0.0"), https_port=port("SHOPDESK_HTTPS_PORT", 443),
            http_port=port("SHOPDESK_HTTP_PORT", 80), console_port=port("SHOPDESK_CONSOLE_HTTPS_PORT", 8443),
            tls_cert=path("SHOPDESK_TLS_CERT"), tls_key=path("SHOPDESK_TLS_KEY"),
            rasa_port=port("SHOPDESK_RASA_PORT", 5005), actions_port=port("SHOPDESK_ACTIONS_PORT", 5055),
            actions_proxy_port=port("SHOPDESK_ACTIONS_PROXY_PORT", 5056),
            web_port=port("SHOPDESK_WEB_PORT", 8080), console_internal_port=port("SHOPDESK_CONSOLE_PORT", 8090),
            status_port=port("SHOPDESK_STATUS_PORT", 8081))

    @property
    def console_url(self) -> str:
        parts = urlsplit(self.public_url)
        return f"https://{parts.hostname}:{self.console_port}"

    def self_signed(self) -> ProductionConfig:
        """Use (and create when missing) a self-signed certificate for the public host in <data dir>/run/tls."""
        tls = self.data.run / "tls"
        return replace(self, tls_cert=tls / "cert.pem", tls_key=tls / "key.pem")


# ---------------------------------------------------------------------------------------------- settings

def read_settings(env_file: Path | None) -> dict[str, str]:
    """The environment, over the env file's values (the real environment wins, as with systemd)."""
    values: dict[str, str] = {}
    if env_file is not None:
        if not env_file.is_file():
            raise SystemExit(f"--env-file {env_file} does not exist")
        values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return {**values, **os.environ}


def new_env_file(path: Path, public_url: str = "https://chat.shop.example") -> None:
    """A fresh settings file for a new deployment: every secret random, the addresses to fill in."""
    if path.exists():
        raise SystemExit(f"{path} exists: not overwriting a deployment's secrets")
    lines = ["# ShopDesk production settings (runtime/serve.py, docs/deployment.md). Keep this file secret.",
             f"SHOPDESK_PUBLIC_URL={public_url}", f"SHOPDESK_ALLOWED_ORIGINS={public_url}",
             "# where browsers reach Rasa's socket.io (containers; runtime.serve sets it from the public URL)",
             f"SHOPDESK_RASA_PUBLIC_URL={public_url}",
             "SHOPDESK_TLS_CERT=/etc/shopdesk/tls/fullchain.pem", "SHOPDESK_TLS_KEY=/etc/shopdesk/tls/privkey.pem",
             *(f"{name}={secrets.token_urlsafe(32)}" for name in SECRETS)]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _https_origin_problems(name: str, value: str) -> list[str]:
    problems = []
    for origin in (o.strip() for o in value.split(",") if o.strip()):
        if origin == "*" or urlsplit(origin).scheme != "https":
            problems.append(f"{name} holds {origin!r}: production allows https:// origins only")
    return problems


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def production_problems(env: Mapping[str, str], config: ProductionConfig, migrate: bool = False) -> list[str]:
    """Everything that makes these settings unfit for production, in words an operator can act on."""
    problems = []
    mode = env.get("SHOPDESK_MODE", "production").strip().lower()
    if mode != "production":
        problems.append(f"SHOPDESK_MODE is {mode!r}: demo mode (storefront, password-less sign-in) is for "
                        "`make demo` only; unset it or set it to production")
    values: dict[str, str] = {}
    for name in SECRETS:
        value = env.get(name, "")
        if not value:
            problems.append(f"{name} is not set (python -m runtime.serve --new-env FILE writes fresh secrets)")
        elif value.lower() in KNOWN_VALUES or len(value) < MIN_SECRET_CHARS:
            problems.append(f"{name} is a demo or test value or shorter than {MIN_SECRET_CHARS} characters")
        elif value in values.values():
            other = next(k for k, v in values.items() if v == value)
            problems.append(f"{name} has the same value as {other}: every secret must be its own")
        values[name] = value
    if env.get("SHOPDESK_DEMO_AGENT_PASSWORD"):
        problems.append("SHOPDESK_DEMO_AGENT_PASSWORD is set: that is the demo's console account (the "
                        "checkout's .env); production settings come from their own file")
    public = urlsplit(config.public_url)
    if public.scheme != "https" or not public.hostname:
        problems.append(f"SHOPDESK_PUBLIC_URL must be the https:// address customers reach (is "
                        f"{config.public_url or 'unset'!r})")
    origins = env.get("SHOPDESK_ALLOWED_ORIGINS", "")
    if not origins.strip():
        problems.append("SHOPDESK_ALLOWED_ORIGINS is not set: name the shop's https:// sites that embed the widget")
    problems += _https_origin_problems("SHOPDESK_ALLOWED_ORIGINS", origins)
    for name in ("SHOPDESK_ACTIONS_HOST", "SHOPDESK_WEB_HOST", "SHOPDESK_CONSOLE_HOST", "SANIC_HOST"):
        if env.get(name) and not _loopback(env[name]):
            problems.append(f"{name}={env[name]}: internal services listen on 127.0.0.1 only (nginx faces out)")
    profile = Path(env.get("SHOPDESK_SHOP_PROFILE") or REPOSITORY_PROFILE)
    if profile.resolve() == REPOSITORY_PROFILE.resolve():
        problems.append(f"the shop profile is the repository's demo shop ({REPOSITORY_PROFILE}): put the shop's "
                        f"own in {config.data.shop_profile} or set SHOPDESK_SHOP_PROFILE")
    if newest_model(config.data.models) is None:
        problems.append(f"no trained model in {config.data.models} (copy models/*.tar.gz there)")
    for name, file in (("SHOPDESK_TLS_CERT", config.tls_cert), ("SHOPDESK_TLS_KEY", config.tls_key)):
        if file is None or not file.is_file():
            problems.append(f"{name} ({file or 'unset'}) is not a file (or start with --self-signed to try it out)")
    if nginx_binary() is None:
        problems.append("nginx is not installed (scripts/setup.sh installs it: apt-get install -y nginx-light)")
    problems += store_problems(env.get("SHOPDESK_DATABASE_URL") or f"sqlite:///{config.data.store_db}", migrate)
    return problems


def store_problems(url: str, migrate: bool) -> list[str]:
    """The store must be at this release's schema (or, with --migrate, be about to be upgraded) and hold no demo
    account."""
    from sqlalchemy import inspect, text

    from shopdesk.backup import sqlite_path
    from store.db import make_engine
    from store.migrate import current_revision, head_revision

    file = sqlite_path(url)
    if file is not None and not file.is_file():
        return [f"the store database {url} does not exist: create it with `shopdesk migrate --database-url {url}` "
                "(then import the shop's data, docs/adopting.md) or restore a backup"]
    engine = make_engine(url)
    try:
        revision, head = current_revision(engine), head_revision()
        if revision != head and not migrate:
            return [f"the store database is at schema {revision}, this release needs {head}: back it up "
                    "(shopdesk backup), then `shopdesk migrate` (or start with --migrate)"]
        with engine.connect() as connection:
            demo = text("SELECT 1 FROM console_agents WHERE email = :e")
            if inspect(connection).has_table("console_agents") and connection.execute(demo, {"e": DEMO_AGENT}).first():
                return [f"the store holds the demo's console account {DEMO_AGENT}: remove it (or start from the "
                        "shop's own store, not the demo's)"]
    finally:
        engine.dispose()
    return []


def migrate_store(url: str) -> None:
    from store.db import make_engine
    from store.migrate import current_revision, upgrade_database

    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade_database(engine)
        if current_revision(engine) != before:
            logger.warning("store database upgraded from %s to %s", before, current_revision(engine))
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------- processes

def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def make_self_signed(cert: Path, key: Path, host: str) -> None:
    if cert.is_file() and key.is_file():
        return
    cert.parent.mkdir(parents=True, exist_ok=True)
    alt = f"IP:{host}" if _is_ip(host) else f"DNS:{host}"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    key.chmod(0o600)
    logger.warning("using a self-signed certificate for %s (%s): browsers will warn; set SHOPDESK_TLS_CERT and "
                   "SHOPDESK_TLS_KEY for real use", host, cert)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def render_nginx(config: ProductionConfig, target: Path | None = None,
                 upstreams: Mapping[str, str] | None = None) -> Path:
    """<data dir>/run/nginx.conf from the template, checked with `nginx -t`; or only written to `target`.

    `upstreams` (web, rasa, console -> host:port) replaces the loopback addresses, for containers
    (deploy/docker/compose.yml renders the proxy's file with the services' names through --render-proxy)."""
    run, logs = config.data.run, config.data.logs
    hosts = {"web": f"127.0.0.1:{config.web_port}", "rasa": f"127.0.0.1:{config.rasa_port}",
             "console": f"127.0.0.1:{config.console_internal_port}", "actions": f"127.0.0.1:{config.actions_port}",
             **(upstreams or {})}
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / "nginx" / sub).mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    redirect = ""
    if config.http_port:
        redirect = (f"    server {{\n        listen {config.bind}:{config.http_port};\n"
                    f"        return 301 https://$host:{config.https_port}$request_uri;\n    }}\n")
    # As root, nginx's workers would run as nobody and could not write its temporary files under the data
    # directory: keep them as the data directory's owner (systemd runs it all as user shopdesk instead).
    user_line = ""
    if target is not None:
        user_line = "user www-data;"  # Debian's nginx in a container (deploy/docker/proxy.Dockerfile)
    elif os.geteuid() == 0:
        import grp
        import pwd

        run.mkdir(parents=True, exist_ok=True)
        user_line = f"user {pwd.getpwuid(run.stat().st_uid).pw_name} {grp.getgrgid(run.stat().st_gid).gr_name};"
    text = Template(TEMPLATE.read_text()).substitute(
        user_line=user_line, run_dir=run, log_dir=logs, web_upstream=hosts["web"], rasa_upstream=hosts["rasa"],
        console_upstream=hosts["console"], actions_upstream=hosts["actions"],
        actions_proxy_port=config.actions_proxy_port, action_fallback=action_fallback(), tls_cert=config.tls_cert,
        tls_key=config.tls_key, http_redirect=redirect,
        bind=config.bind, https_port=config.https_port, console_port=config.console_port,
        status_bind="0.0.0.0" if upstreams else "127.0.0.1", status_port=config.status_port)
    path = target or run / "nginx.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if target is not None:
        return path  # for another machine's nginx (a container, whose upstream names resolve only there)
    check = subprocess.run([*nginx_command(path, logs), "-t", "-q"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise SystemExit(f"nginx refuses the generated {path}:\n{check.stderr.strip()}")
    return path


def action_fallback() -> str:
    """The scale-out profile's "temporarily unavailable" action response, as one nginx string literal."""
    text = json.dumps(json.loads(ACTION_FALLBACK.read_text()), separators=(",", ":"))
    if "$" in text:
        raise ValueError(f"{ACTION_FALLBACK} holds a '$', which nginx would read as a variable")
    return text.replace("\\", "\\\\").replace("'", "\\'")


def nginx_command(conf: Path, logs: Path) -> list[str]:
    return [nginx_binary() or "nginx", "-e", str(logs / "nginx-error.log"), "-p", str(conf.parent), "-c", str(conf),
            "-g", "daemon off;"]


def process_env(env: Mapping[str, str], config: ProductionConfig) -> dict[str, str]:
    """What every process gets: the data directory's paths under the operator's settings, and production's
    fixed choices (production mode, loopback, nginx as the one trusted proxy, secure cookies)."""
    return {**config.data.env(), **env,
            "SHOPDESK_MODE": "production", "SHOPDESK_PROFILE": "production",
            "SHOPDESK_RASA_PUBLIC_URL": config.public_url, "SHOPDESK_TRUSTED_PROXIES": "127.0.0.1",
            "SHOPDESK_COOKIE_SECURE": "1", "SHOPDESK_ACTIONS_HOST": "127.0.0.1", "SHOPDESK_WEB_HOST": "127.0.0.1",
            "SHOPDESK_CONSOLE_HOST": "127.0.0.1"}


def production_stack(env: Mapping[str, str], config: ProductionConfig) -> ProcessGroup:
    """Action server, Rasa, web app, console and nginx, supervised."""
    stack = StackConfig(model=config.data.models, var_dir=config.data.root, rasa_port=config.rasa_port,
                        actions_port=config.actions_port, web_port=config.web_port, mode="production",
                        extra_env=process_env(env, config), read_dotenv=False)
    servers = [*shopdesk_servers(stack, with_web=True), console_server(stack, config.console_internal_port)]
    rasa = next(s for s in servers if s.name == "rasa server")
    # Healthy = a model is loaded (Rasa's `/` answers even when the model failed to load; /status is a 409 then).
    rasa.health_url, rasa.ok_below = f"{stack.rasa_url}/status?token={env['RASA_AUTH_TOKEN']}", 400
    rasa.env = {**rasa.env, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{config.actions_proxy_port}/webhook"}
    conf = render_nginx(config)
    servers.append(ServerProcess(
        name="nginx", command=nginx_command(conf, config.data.logs),
        health_url=f"http://127.0.0.1:{config.status_port}/healthz", env=stack.env(), cwd=PROJECT_ROOT,
        log_path=config.data.logs / "nginx.log"))
    return ProcessGroup(servers, supervise=True)


# ---------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("SHOPDESK_DATA_DIR") or None,
                        help="the deployment's state (default: SHOPDESK_DATA_DIR)")
    parser.add_argument("--env-file", type=Path, default=None, help="settings file (KEY=value lines)")
    parser.add_argument("--self-signed", action="store_true",
                        help="make and use a self-signed certificate (trying it out; browsers will warn)")
    parser.add_argument("--migrate", action="store_true", help="upgrade the store database first if it is behind")
    parser.add_argument("--check", action="store_true", help="list what stops it from starting, start nothing")
    parser.add_argument("--new-env", type=Path, metavar="FILE", help="write a settings file with fresh secrets")
    parser.add_argument("--render-proxy", type=Path, metavar="FILE",
                        help="only write the nginx configuration (upstreams from SHOPDESK_UPSTREAM_WEB, _RASA, "
                             "_CONSOLE as host:port; for containers)")
    args = parser.parse_args(argv)
    if args.new_env:
        new_env_file(args.new_env)
        print(f"wrote {args.new_env} (mode 0600): fill in SHOPDESK_PUBLIC_URL, SHOPDESK_ALLOWED_ORIGINS and the "
              "certificate paths")
        return 0
    if args.render_proxy:
        config = ProductionConfig.from_env(os.environ, (args.data_dir or Path("/var/lib/shopdesk")).resolve())
        upstreams = {name: os.environ[f"SHOPDESK_UPSTREAM_{name.upper()}"] for name in ("web", "rasa", "console")
                     if os.environ.get(f"SHOPDESK_UPSTREAM_{name.upper()}")}
        print(f"wrote {render_nginx(config, args.render_proxy, upstreams)}")
        return 0
    if args.data_dir is None:
        parser.error("--data-dir (or SHOPDESK_DATA_DIR) is required: the directory the deployment keeps its state in")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    env = read_settings(args.env_file)
    config = ProductionConfig.from_env(env, args.data_dir.resolve())
    config.data.root.mkdir(parents=True, exist_ok=True)
    for directory in (config.data.logs, config.data.run, config.data.uploads):
        directory.mkdir(exist_ok=True)
    if args.self_signed:
        config = config.self_signed()
        if not args.check:
            make_self_signed(config.tls_cert, config.tls_key, urlsplit(config.public_url).hostname or "localhost")
    problems = production_problems({**config.data.env(), **env}, config, migrate=args.migrate)
    if args.self_signed and args.check:
        problems = [p for p in problems if not p.startswith(("SHOPDESK_TLS_CERT", "SHOPDESK_TLS_KEY"))]
    if problems:
        print("ShopDesk will not start in production:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return 2
    if args.check:
        print("ready to start")
        return 0
    if args.migrate:  # only now that nothing else stands in the way: a refusal changes nothing
        migrate_store(env.get("SHOPDESK_DATABASE_URL") or f"sqlite:///{config.data.store_db}")
    log_supervision_to(config.data.logs / "supervisor.log")
    stack = production_stack(env, config)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logger.info("ShopDesk %s: starting %s", __version__, ", ".join(s.name for s in stack.servers))
    try:
        stack.start(timeout=600)  # Rasa loads its model first: minutes on a busy machine
        logger.info("serving %s (console %s); logs in %s", config.public_url, config.console_url, config.data.logs)
        print(f"ShopDesk {__version__} ready: {config.public_url}/widget.js", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        logger.info("stopping")
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
