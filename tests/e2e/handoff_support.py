"""The real stack for the handoff tests: Rasa with the handoff policy + sentiment component, the action
server, the web-chat (socket.io) channel, and helpers to start the agent console and the storefront.

Until the lead has merged console/INTEGRATION.md into domain.yml / config.yml / credentials.yml, the
fixture trains a model from the project's files plus exactly those snippets (cached under
var/test-models/ by content hash, reusing Rasa's training cache), so the tests exercise the same
configuration the integration will produce. Once merged, it uses the project's own model and stack.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import APP_PYTHON, OFFLINE_ENV, PROJECT_ROOT, RASA_BIN, StackConfig, shopdesk_servers

WEBCHAT_CHANNEL = "bot.channels.webchat.WebChatInput"
WEBCHAT_CREDENTIALS = {WEBCHAT_CHANNEL: {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                                         "session_persistence": True, "metadata_key": "customData"}}
SENTIMENT_COMPONENT = "bot.nlu.sentiment.SentimentAnalyzer"
HANDOFF_POLICY = "bot.policies.handoff.HandoffPolicy"
HANDOFF_ACTION = "action_handoff_to_human"
REASON_SLOT = {"handoff_reason": {"type": "text", "influence_conversation": False,
                                  "mappings": [{"type": "custom"}]}}
MODEL_CACHE = PROJECT_ROOT / "var" / "test-models"
AGENT_PASSWORD = "correct-horse-battery"


def _load(name: str) -> Any:
    return yaml.safe_load((PROJECT_ROOT / name).read_text()) or {}


def integrated() -> bool:
    """Whether domain.yml and config.yml already carry the handoff snippets."""
    config, domain = _load("config.yml"), _load("domain.yml")
    pipeline = [c.get("name") for c in config.get("pipeline") or []]
    policies = [p.get("name") for p in config.get("policies") or []]
    return (SENTIMENT_COMPONENT in pipeline and HANDOFF_POLICY in policies
            and HANDOFF_ACTION in (domain.get("actions") or []))


def overlay_files(target: Path) -> tuple[Path, Path]:
    """domain.yml and config.yml with the handoff snippets added (what console/INTEGRATION.md asks for)."""
    domain, config = _load("domain.yml"), _load("config.yml")
    if HANDOFF_ACTION not in (domain.setdefault("actions", [])):
        domain["actions"].append(HANDOFF_ACTION)
    domain.setdefault("slots", {}).update({k: v for k, v in REASON_SLOT.items() if k not in domain["slots"]})
    if SENTIMENT_COMPONENT not in [c.get("name") for c in config["pipeline"]]:
        config["pipeline"].append({"name": SENTIMENT_COMPONENT})
    if HANDOFF_POLICY not in [p.get("name") for p in config["policies"]]:
        config["policies"].append({"name": HANDOFF_POLICY})
    target.mkdir(parents=True, exist_ok=True)
    (target / "domain.yml").write_text(yaml.safe_dump(domain, sort_keys=False, allow_unicode=True))
    (target / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return target / "domain.yml", target / "config.yml"


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(PROJECT_ROOT) if file.is_relative_to(PROJECT_ROOT)
                                  else file.name).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def handoff_model(workdir: Path) -> Path:
    """A model trained with the handoff snippets (cached by the content of everything it is built from)."""
    from tests.conftest import latest_model

    if integrated():
        return latest_model()
    domain, config = overlay_files(workdir / "overlay")
    key = _fingerprint(domain, config, PROJECT_ROOT / "training_data")  # code is loaded at run time
    model = MODEL_CACHE / f"handoff-{key}.tar.gz"
    if model.exists():
        return model
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **OFFLINE_ENV,
           "RASA_CACHE_DIRECTORY": os.environ.get("RASA_CACHE_DIRECTORY",
                                                  str(Path.home() / ".cache" / "shopdesk" / "rasa-cache"))}
    result = subprocess.run(
        [str(RASA_BIN), "train", "--config", str(config), "--domain", str(domain), "--data", "training_data",
         "--out", str(MODEL_CACHE), "--fixed-model-name", f"handoff-{key}", "--quiet"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1500)
    if result.returncode != 0 or not model.exists():
        pytest.fail(f"rasa train with the handoff snippets failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return model


@pytest.fixture(scope="session")
def handoff_stack(request: pytest.FixtureRequest, demo_store_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    """Rasa (handoff policy, socket.io web chat) + action server on a seeded store with the console tables."""
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text()) or {}
    if integrated() and WEBCHAT_CHANNEL in credentials:
        yield request.getfixturevalue("shop_stack")
        return
    var = tmp_path_factory.mktemp("handoff-var")
    model = handoff_model(var)
    credentials.update({k: v for k, v in WEBCHAT_CREDENTIALS.items() if k not in credentials})
    (var / "credentials.yml").write_text(yaml.safe_dump(credentials))
    config = StackConfig(model=model, database_url=demo_store_url, var_dir=var)
    servers = shopdesk_servers(config)
    rasa = servers[-1]
    command = list(rasa.command)
    command[command.index("--credentials") + 1] = str(var / "credentials.yml")
    rasa.command = command
    with ProcessGroup(servers):
        yield config


@dataclass
class ConsoleServer:
    url: str
    database_url: str


def start_console(stack: StackConfig, log_dir: Path, extra_env: dict[str, str] | None = None) -> ProcessGroup:
    """`python -m console` on a free port, wired to the stack's Rasa and database (started, healthy)."""
    port = free_port()
    env = {**stack.env(), "RASA_URL": stack.rasa_url, "SHOPDESK_CONSOLE_KNOWLEDGE": "0", **(extra_env or {})}
    server = ServerProcess(
        name="agent console", command=[str(APP_PYTHON), "-m", "console", "serve", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/login", env=env, cwd=PROJECT_ROOT, log_path=log_dir / "console.log")
    group = ProcessGroup([server])
    group.start(timeout=120)
    group.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return group


def create_agent(database_url: str, email: str, role: str = "agent", name: str | None = None) -> None:
    """Through the real CLI, password on standard input."""
    command = [str(APP_PYTHON), "-m", "console", "create-user", "--role", role, "--password-stdin",
               "--database-url", database_url, email]
    if name:
        command += ["--name", name]
    result = subprocess.run(command, input=AGENT_PASSWORD + "\n", cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, **OFFLINE_ENV})
    assert result.returncode == 0, result.stderr
