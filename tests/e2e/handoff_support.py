"""Fixtures and helpers for the handoff tests: the real stack (Rasa with the handoff policy and sentiment
component, socket.io web chat, action server, seeded store), the agent console as a process, and accounts
created through the console's own CLI.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import APP_PYTHON, OFFLINE_ENV, PROJECT_ROOT, StackConfig

AGENT_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def handoff_stack(shop_stack: StackConfig) -> Iterator[StackConfig]:
    """The project's stack: config.yml carries the handoff policy, credentials.yml the web-chat channel."""
    yield shop_stack


def start_console(stack: StackConfig, log_dir: Path, extra_env: dict[str, str] | None = None) -> ProcessGroup:
    """`python -m console serve` on a free port, wired to the stack's Rasa and database (started, healthy)."""
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
