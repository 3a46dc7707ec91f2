"""The real stack an attacker would reach: Rasa + action server (tests/conftest.py `shop_stack`), the web app
(widget API) and the agent console, each a real process on loopback, sharing one seeded store database.

Every test here attacks it the way docs/security.md's threat model says and asserts that nothing leaks,
nothing stops and every bad input gets a clear 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import APP_PYTHON, PROJECT_ROOT, StackConfig

pytestmark = pytest.mark.slow


@dataclass
class RunningApp:
    url: str
    log_path: Path
    group: ProcessGroup


def _start(name: str, module: str, stack: StackConfig, var: Path, extra_env: dict[str, str],
           health_path: str, port: int | None = None) -> RunningApp:
    port = port or free_port()
    log_path = var / f"{module}.log"
    server = ServerProcess(
        name=name, command=[str(APP_PYTHON), "-m", module, *(["serve"] if module == "console" else []),
                            "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}{health_path}", cwd=PROJECT_ROOT, log_path=log_path,
        env={**stack.env(), "RASA_URL": stack.rasa_url, **extra_env},
    )
    group = ProcessGroup([server])
    group.start(timeout=120)
    return RunningApp(f"http://127.0.0.1:{port}", log_path, group)


@pytest.fixture(scope="session")
def web_app(shop_stack: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The customer-facing web app (storefront, widget API) as a process, wired to the shared stack."""
    from web.vendor import vendor

    vendor()
    var = tmp_path_factory.mktemp("security-web")
    app = _start("web app", "web", shop_stack, var, {"SHOPDESK_UPLOAD_DIR": str(var / "uploads")},
                 "/favicon.ico", port=shop_stack.web_port)  # the origin Rasa's socket.io channel allows
    yield app
    app.group.stop()


@pytest.fixture(scope="session")
def console_app(shop_stack: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The agent console as a process, wired to the shared stack."""
    var = tmp_path_factory.mktemp("security-console")
    app = _start("agent console", "console", shop_stack, var, {"SHOPDESK_CONSOLE_KNOWLEDGE": "0"}, "/login")
    yield app
    app.group.stop()
