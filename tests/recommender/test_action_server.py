"""The recommendation actions through a real rasa-sdk action server process, as Rasa calls them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store.tokens import issue_customer_token
from tests.recommender.conftest import SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def action_server(store_engine: Engine, trained_root: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("actions") / "actions.log"
    env = {**os.environ, "SHOPDESK_DATABASE_URL": str(store_engine.url), "SHOPDESK_RECOMMENDER_DIR": str(trained_root),
           "SHOPDESK_SIGNING_KEY": SIGNING_KEY, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "SANIC_HOST": "127.0.0.1"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions.recommendations",
                                    "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"action server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def call(url: str, action: str, text: str, intent: str, entities: list[dict] | None = None,
         metadata: dict | None = None) -> dict:
    tracker = {"sender_id": "web-1", "slots": {}, "latest_message": {
        "text": text, "intent": {"name": intent, "confidence": 0.98}, "entities": entities or [],
        "metadata": metadata or {}}, "events": [], "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen"}
    body = json.dumps({"next_action": action, "sender_id": "web-1", "tracker": tracker, "domain": {},
                       "version": "3.6.21"}).encode()
    request = urllib.request.Request(f"{url}/webhook", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_signed_in_customer_gets_product_cards_over_http(action_server: str) -> None:
    token = issue_customer_token(20001, "web-1", SIGNING_KEY)  # call()'s sender
    reply = call(action_server, "action_recommend_products", "what would you recommend?", "recommend_product",
                 metadata={"customer_token": token})
    (message,) = reply["responses"]
    assert message["text"].startswith("Here are a few ideas for you")
    custom = message["custom"]
    assert custom["type"] == "product_carousel" and custom["text"].startswith("1. ")
    assert all(card["reason"].startswith("Because you bought") for card in custom["products"])


def test_button_payload_round_trip_over_http(action_server: str) -> None:
    reply = call(action_server, "action_recommend_products", '/recommend_similar{"product":"22423"}',
                 "recommend_similar", [{"entity": "product", "value": "22423"}])
    sku = reply["responses"][0]["custom"]["products"][0]["sku"]
    info = call(action_server, "action_product_info", f'/product_info{{"product":"{sku}"}}', "product_info",
                [{"entity": "product", "value": sku}])
    assert f"(SKU {sku})" in info["responses"][0]["text"]
