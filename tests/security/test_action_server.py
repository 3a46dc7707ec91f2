"""The action server answers only Rasa, listens only on loopback, and no secret is on a command line.

Attacks the real stack (tests/conftest.py `shop_stack`: Rasa + action server processes): the issue's
finding was that `POST :5055/webhook` with a made-up tracker (`customer_id` slot set) returned that
customer's orders and reached cancel. Now every call needs `X-ShopDesk-Action-Token` (Rasa sends it
from endpoints.yml), and the same forged call is shown to be served only with that token, so the 401s
below are not an artefact of a malformed request.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from runtime.action_server import TOKEN_HEADER
from runtime.chat_client import REST_PATH
from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import APP_PYTHON, PROJECT_ROOT, RASA_PYTHON, StackConfig

pytestmark = pytest.mark.slow

CUSTOMER, CUSTOMERS_ORDER = 14085, "581144"  # amanda.roberts in the seed-7 demo store (tests/e2e)
TRACK_ME = ("580291", "barry.jones2@example.com")  # shipped
SECRET_NAMES = ("RASA_AUTH_TOKEN", "SHOPDESK_ACTION_TOKEN", "SHOPDESK_REST_TOKEN", "SHOPDESK_SIGNING_KEY",
                "SHOPDESK_WEBHOOK_SECRET", "FLASK_SECRET_KEY", "SHOPDESK_CONSOLE_SECRET_KEY", "SHOPDESK_PG_PASSWORD")


def forged_call(action: str = "action_list_orders") -> dict:
    """What an attacker posts: a tracker claiming to be customer CUSTOMER, for an order action."""
    sender = f"attacker-{uuid.uuid4().hex[:8]}"
    return {
        "next_action": action, "sender_id": sender, "version": "3.6.21",
        "tracker": {"sender_id": sender, "slots": {"customer_id": CUSTOMER}, "events": [], "paused": False,
                    "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
                    "latest_input_channel": "rest",
                    "latest_message": {"text": "show my recent orders", "intent": {"name": "list_orders"},
                                       "entities": [], "metadata": {}}},
        "domain": {"slots": {}, "responses": {}, "forms": {}, "intents": [], "entities": [], "actions": []},
    }


def webhook(stack: StackConfig, headers: dict[str, str] | None = None, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(f"{stack.actions_url}/webhook", json=forged_call(), headers=headers or {}, timeout=60,
                         **kwargs)


def assert_refused(reply: requests.Response) -> None:
    assert reply.status_code == 401, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["error"] == "unauthorized"
    assert CUSTOMERS_ORDER not in reply.text and "orders" not in reply.text.lower()


def test_forged_action_call_without_the_token_is_refused(shop_stack: StackConfig) -> None:
    assert_refused(webhook(shop_stack))


@pytest.mark.parametrize("given", ["wrong", "", "x" * 43, "Bearer {token}", "{token}x", "{prefix}", "{swapped}"])
def test_forged_action_call_with_a_wrong_token_is_refused(shop_stack: StackConfig, given: str) -> None:
    token = shop_stack.env()["SHOPDESK_ACTION_TOKEN"]
    value = given.format(token=token, prefix=token[:-1], swapped=token.swapcase())
    assert_refused(webhook(shop_stack, {TOKEN_HEADER: value}))


def test_the_token_elsewhere_than_the_header_is_refused(shop_stack: StackConfig) -> None:
    token = shop_stack.env()["SHOPDESK_ACTION_TOKEN"]
    assert_refused(webhook(shop_stack, params={"token": token}))  # Rasa-API style query parameter
    assert_refused(webhook(shop_stack, {"Authorization": f"Bearer {token}"}))
    assert_refused(webhook(shop_stack, {"X-ShopDesk-Action-Token-X": token}))


def test_other_paths_need_the_token_and_the_probes_stay_open(shop_stack: StackConfig) -> None:
    for method, path in (("GET", "/actions"), ("POST", "/webhook/"), ("POST", "/webhook?x=1"), ("GET", "/nope")):
        reply = requests.request(method, shop_stack.actions_url + path, json=forged_call(), timeout=30)
        assert reply.status_code == 401, (method, path, reply.status_code, reply.text)
    assert requests.get(f"{shop_stack.actions_url}/health", timeout=10).json() == {"status": "ok"}
    assert requests.get(f"{shop_stack.actions_url}/ready", timeout=10).status_code == 200
    token = shop_stack.env()["SHOPDESK_ACTION_TOKEN"]
    listed = requests.get(f"{shop_stack.actions_url}/actions", headers={TOKEN_HEADER: token}, timeout=30)
    assert listed.status_code == 200 and {"name": "action_list_orders"} in listed.json()


def test_the_same_call_with_rasas_token_is_served(shop_stack: StackConfig) -> None:
    """Control: the forged call is well-formed, the token alone decides (Rasa is trusted with identity)."""
    reply = webhook(shop_stack, {TOKEN_HEADER: shop_stack.env()["SHOPDESK_ACTION_TOKEN"]})
    assert reply.status_code == 200, reply.text
    assert CUSTOMERS_ORDER in reply.text


def test_rasa_still_reaches_the_actions_in_a_real_conversation(shop_stack: StackConfig) -> None:
    env = shop_stack.env()
    headers = {"Authorization": f"Bearer {env.get('SHOPDESK_REST_TOKEN', '')}"}
    sender = f"sec-actions-{uuid.uuid4().hex[:8]}"

    def say(text: str) -> str:
        reply = requests.post(shop_stack.rasa_url + REST_PATH, json={"sender": sender, "message": text},
                              headers=headers, timeout=90)
        assert reply.status_code == 200, reply.text
        return "\n".join(m.get("text") or "" for m in reply.json())

    assert "email" in say(f"where is my order {TRACK_ME[0]}").lower()
    answer = say(TRACK_ME[1])  # validated by the form's action, answered by action_track_order
    assert ("on its way" in answer or "is late" in answer) and "tracking number" in answer, answer


# ---- where it listens -------------------------------------------------------------------------------------------

def listeners(port: int) -> list:  # type: ignore[type-arg]
    return [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port]


def non_loopback_addresses() -> list[tuple[int, str]]:
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6) and not address.address.startswith(
                    ("127.", "::1", "fe80")):
                found.append((address.family, address.address.split("%")[0]))
    return found


def assert_loopback_only(port: int) -> None:
    bound = listeners(port)
    assert bound, f"nothing listens on {port}"
    assert {c.laddr.ip for c in bound} == {"127.0.0.1"}, bound
    for family, address in non_loopback_addresses():
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, port)) != 0, f"reachable on {address}:{port}"


def test_the_action_server_listens_only_on_loopback(shop_stack: StackConfig) -> None:
    assert_loopback_only(shop_stack.actions_port)
    assert_loopback_only(shop_stack.rasa_port)


def test_the_action_server_binds_loopback_by_default_and_refuses_to_start_without_a_token(
        shop_stack: StackConfig, tmp_path: Path) -> None:
    env = {**shop_stack.env(), "SANIC_HOST": "0.0.0.0"}  # a stray generic setting must not widen it
    missing = {k: v for k, v in {**os.environ, **env}.items() if k != "SHOPDESK_ACTION_TOKEN"}
    refused = subprocess.run([str(APP_PYTHON), "-m", "runtime.action_server", "--port", str(free_port())],
                             cwd=PROJECT_ROOT, env=missing, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "SHOPDESK_ACTION_TOKEN is not set" in refused.stderr
    port = free_port()
    server = ServerProcess(name="default action server", health_url=f"http://127.0.0.1:{port}/health", env=env,
                           command=[str(APP_PYTHON), "-m", "runtime.action_server", "--port", str(port)],
                           cwd=PROJECT_ROOT, log_path=tmp_path / "actions.log")
    with ProcessGroup([server]):
        assert_loopback_only(port)
        assert requests.post(f"http://127.0.0.1:{port}/webhook", json=forged_call(), timeout=30).status_code == 401


# ---- command lines ----------------------------------------------------------------------------------------------

def stack_processes(stack: StackConfig) -> list[psutil.Process]:
    """Every process of the stack's Rasa and action servers (their whole process groups: forked workers too)."""
    groups = set()
    for port in (stack.rasa_port, stack.actions_port):
        for connection in listeners(port):
            if connection.pid:
                groups.add(os.getpgid(connection.pid))
    assert len(groups) == 2, groups
    processes = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) in groups:
                processes.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return processes


def test_no_secret_is_on_a_process_command_line(shop_stack: StackConfig) -> None:
    env = shop_stack.env()
    secrets = {name: env[name] for name in SECRET_NAMES if env.get(name)}
    assert "RASA_AUTH_TOKEN" in secrets and "SHOPDESK_ACTION_TOKEN" in secrets
    processes = stack_processes(shop_stack)
    command_lines = {p.pid: Path(f"/proc/{p.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                     for p in processes}  # exactly what `ps` shows every user
    assert any("bot.serve" in line for line in command_lines.values()), command_lines
    for pid, line in command_lines.items():
        for name, value in secrets.items():
            assert value not in line, f"{name} is on the command line of pid {pid}"
        assert "--auth-token" not in line, line
    # the token did reach Rasa (through its environment): its HTTP API is locked, and opens with it
    assert requests.get(f"{shop_stack.rasa_url}/status", timeout=30).status_code == 401
    status = requests.get(f"{shop_stack.rasa_url}/status", params={"token": secrets["RASA_AUTH_TOKEN"]}, timeout=30)
    assert status.status_code == 200, status.text


def test_the_rasa_launcher_refuses_to_run_without_a_token_or_with_one_on_its_command_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RASA_AUTH_TOKEN"}
    python = str(RASA_PYTHON) if RASA_PYTHON.exists() else sys.executable
    without = subprocess.run([python, "-m", "bot.serve", "--enable-api"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert without.returncode != 0 and "RASA_AUTH_TOKEN is not set" in without.stderr
    on_argv = subprocess.run([python, "-m", "bot.serve", "--enable-api", "--auth-token", "visible"],
                             cwd=PROJECT_ROOT, env={**env, "RASA_AUTH_TOKEN": "from-env"},
                             capture_output=True, text=True, timeout=60)
    assert on_argv.returncode != 0 and "not on the command line" in on_argv.stderr
