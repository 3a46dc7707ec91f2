"""The ShopDesk processes of the embedded (default) profile and how they are wired together.

Rasa server (Python 3.10 env) <-HTTP-> action server (Python 3.11 env) -> store database (SQLite);
Rasa keeps conversations in its SQL tracker store (SQLite). Everything binds to 127.0.0.1, the Rasa
HTTP API requires RASA_AUTH_TOKEN and the action server answers only calls carrying
SHOPDESK_ACTION_TOKEN (endpoints.yml). Secrets come from the environment or the git-ignored .env and
reach the processes through their environment, never their command lines (which `ps` shows to anyone).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from runtime.processes import ProcessGroup, ServerProcess, free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_PYTHON = PROJECT_ROOT / ".venv" / "app" / "bin" / "python"
RASA_BIN = PROJECT_ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PYTHON = PROJECT_ROOT / ".venv" / "rasa" / "bin" / "python"
SECRETS = ("RASA_AUTH_TOKEN", "SHOPDESK_ACTION_TOKEN")  # the stack does not start without these

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def project_env() -> dict[str, str]:
    """Settings from .env, overridden by the real environment."""
    values = {k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None}
    return {**values, **{k: v for k, v in os.environ.items() if k in values}}


@dataclass
class StackConfig:
    model: Path = PROJECT_ROOT / "models"
    database_url: str = ""
    var_dir: Path = PROJECT_ROOT / "var"
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    # The embedded profile runs the demo shop (make demo, the tests); "production" serves the widget API alone.
    mode: str = "demo"
    extra_env: dict[str, str] = field(default_factory=dict)
    # The checkout's .env (make demo, tests); the production profile passes its settings in extra_env alone.
    read_dotenv: bool = True

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    def env(self) -> dict[str, str]:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        env = {**OFFLINE_ENV, **(project_env() if self.read_dotenv else {}), "SHOPDESK_MODE": self.mode,
               **self.extra_env}
        env.setdefault("SHOPDESK_DATABASE_URL", self.database_url or f"sqlite:///{self.var_dir / 'shop.db'}")
        if self.database_url:
            env["SHOPDESK_DATABASE_URL"] = self.database_url
        env.update({
            "ACTION_ENDPOINT_URL": f"{self.actions_url}/webhook",
            "TRACKER_DIALECT": env.get("TRACKER_DIALECT", "sqlite"),
            "TRACKER_DB": env.get("TRACKER_DB", str(self.var_dir / "tracker.db")),
            "SANIC_HOST": "127.0.0.1",
            "RASA_URL": self.rasa_url,
        })
        if env["TRACKER_DIALECT"] == "sqlite":  # the console's training loop reads the file Rasa writes
            db = Path(env["TRACKER_DB"])
            env.setdefault("SHOPDESK_TRACKER_URL", f"sqlite:///{db if db.is_absolute() else PROJECT_ROOT / db}")
        # Browsers may open the widget's socket.io connection only from the shop's own pages.
        env.setdefault("SHOPDESK_ALLOWED_ORIGINS",
                       f"http://127.0.0.1:{self.web_port},http://localhost:{self.web_port}")
        require_secrets(env)
        return env


def require_secrets(env: dict[str, str]) -> None:
    missing = [name for name in SECRETS if not env.get(name)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not set: run scripts/setup.sh (it writes .env)")


def rasa_command(model: Path, port: int, endpoints: Path | str, credentials: Path | str) -> list[str]:
    """`rasa run` through bot/serve.py, which takes the API token from RASA_AUTH_TOKEN in the environment."""
    return [str(RASA_PYTHON), "-m", "bot.serve", "--model", str(model), "--port", str(port),
            "--interface", "127.0.0.1", "--enable-api", "--endpoints", str(endpoints),
            "--credentials", str(credentials)]


def action_server_command(port: int, *extra: str) -> list[str]:
    """runtime/action_server.py (token-checked, loopback-bound, degrading gracefully) on `port`."""
    return [str(APP_PYTHON), "-m", "runtime.action_server", "--actions", "actions", "--host", "127.0.0.1",
            "--port", str(port), *extra]


def shopdesk_servers(config: StackConfig, with_web: bool = False) -> list[ServerProcess]:
    """Action server and Rasa server; with_web adds the storefront + widget web app (web/)."""
    env, logs = config.env(), config.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    actions = ServerProcess(
        name="action server",
        command=action_server_command(config.actions_port),
        health_url=f"{config.actions_url}/health", env=env, cwd=PROJECT_ROOT, log_path=logs / "actions.log",
    )
    rasa = ServerProcess(
        name="rasa server",
        command=rasa_command(config.model, config.rasa_port, "endpoints.yml", "credentials.yml"),
        health_url=f"{config.rasa_url}/", env=env, cwd=PROJECT_ROOT, log_path=logs / "rasa.log",
    )
    servers = [actions, rasa]
    if with_web:
        servers.append(ServerProcess(
            name="web app",
            command=[str(APP_PYTHON), "-m", "web", "--port", str(config.web_port)],
            health_url=f"{config.web_url}/favicon.ico", env=env, cwd=PROJECT_ROOT, log_path=logs / "web.log",
        ))
    return servers


def console_server(config: StackConfig, port: int) -> ServerProcess:
    """The agent console (console/) on `port`, with the stack's settings and logs."""
    return ServerProcess(
        name="agent console", command=[str(APP_PYTHON), "-m", "console", "serve", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/login", env=config.env(), cwd=PROJECT_ROOT,
        log_path=config.var_dir / "logs" / "console.log",
    )


def shopdesk_stack(config: StackConfig, with_web: bool = False, supervise: bool = False) -> ProcessGroup:
    """The servers as one unit; launchers supervise them (restart on crash), tests usually do not."""
    return ProcessGroup(shopdesk_servers(config, with_web), supervise=supervise)
