"""The whole loop on a tiny project, through the console, against a real Rasa server:

a customer's message is misclassified (real REST channel → real SQL tracker store) → it shows up in the
review inbox → similar messages are labelled in bulk → export + `rasa data validate` → retrain in the
background (a real job process) → evaluation against the served model → promotion hot-loads the model
into the running server, which now understands the message (same conversation, not dropped) → a
deliberately worse model is blocked by the gate → one-click rollback serves the previous model again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from console import create_app
from console.users import create_user
from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.stack import OFFLINE_ENV
from store.db import make_engine, session_factory
from store.migrate import upgrade_database
from tests.console.conftest import PASSWORD, csrf_from, login
from tests.training.support import RASA_BIN, write_project
from training.evaluation import split_data
from training.logs import read_messages
from training.models_registry import ModelRegistry
from training.rasa_cli import run_rasa
from training.retrain import JobBoard, launch, run_job
from training.settings import TrainingSettings
from training.tables import ModelStatus

pytestmark = pytest.mark.slow
TOKEN = "rasa-token-for-training-tests-0123"
HALT = ["please halt the shipment", "halt my shipment", "can you halt the shipment now"]


@dataclass
class Rig:
    settings: TrainingSettings
    rasa_url: str
    store_url: str
    root: Path

    def parse(self, text: str) -> dict[str, Any]:
        response = requests.post(f"{self.rasa_url}/model/parse", params={"token": TOKEN}, json={"text": text},
                                 timeout=30)
        response.raise_for_status()
        return response.json()["intent"]

    def say(self, sender: str, text: str) -> list[str]:
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                 timeout=60)
        response.raise_for_status()
        return [m.get("text", "") for m in response.json()]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The tiny project, a baseline model trained the way the loop trains, and Rasa serving it."""
    root = tmp_path_factory.mktemp("loop")
    settings = write_project(root / "project")
    split = split_data(settings, root / "baseline")
    run_rasa(settings, "train", "--config", str(settings.config), "--domain", str(settings.domain), "--data",
             str(split.train_dir), "--out", str(settings.models_dir), "--fixed-model-name", "baseline")
    tracker_db = root / "tracker.db"
    (root / "endpoints.yml").write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tracker_db}\n")
    (root / "credentials.yml").write_text("rest:\n")
    settings = settings.with_(tracker_url=f"sqlite:///{root / 'tracker.db'}")
    port = free_port()
    rasa = ServerProcess(
        name="rasa server", health_url=f"http://127.0.0.1:{port}/", env=OFFLINE_ENV, cwd=root,
        log_path=root / "rasa.log",
        command=[str(RASA_BIN), "run", "--enable-api", "--auth-token", TOKEN, "--port", str(port), "--interface",
                 "127.0.0.1", "--model", str(settings.models_dir / "baseline.tar.gz"),
                 "--endpoints", str(root / "endpoints.yml"), "--credentials", str(root / "credentials.yml")])
    store_url = f"sqlite:///{root / 'shop.db'}"
    engine = make_engine(store_url)
    upgrade_database(engine)
    engine.dispose()
    with ProcessGroup([rasa]):
        yield Rig(settings, f"http://127.0.0.1:{port}", store_url, root)


def console(rig: Rig) -> tuple[Any, str]:
    sessions = session_factory(make_engine(rig.store_url))
    create_user(sessions, "trainer@shop.example", PASSWORD, "admin", "Tess")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "flask-secret-for-training-tests-0123",
        "SHOPDESK_DATABASE_URL": rig.store_url, "SHOPDESK_RASA_URL": rig.rasa_url,
        "SHOPDESK_RASA_AUTH_TOKEN": TOKEN, "SHOPDESK_SIGNING_KEY": "signing-key-for-training-tests",
        "CONSOLE_KNOWLEDGE": False, "SHOPDESK_TRAINING": rig.settings,
        "TRAINING_LAUNCHER": partial(launch, log_dir=rig.root / "logs"),
    })
    client = app.test_client()
    return client, login(client, "trainer@shop.example")


def wait_for_job(client: Any, job_id: int, timeout: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/training/jobs/{job_id}").get_json()
        if job["done"]:
            return job
        time.sleep(1)
    raise AssertionError(f"training job {job_id} did not finish: {job}")


def test_from_a_misclassified_message_to_a_promoted_model_and_back(rig: Rig) -> None:
    # a customer talks to the real server; the baseline gets the "halt" messages wrong
    assert rig.say("shopper-2", "hello") == ["Hello! How can I help?"]
    for text in HALT:
        assert rig.say("shopper-1", text) != ["I'll cancel that order."]
    rig.say("shopper-1", "my email is jane.roe@gmail.com")
    assert rig.parse(HALT[0])["name"] != "cancel_order"

    client, csrf = console(rig)
    inbox = client.get("/training/").get_data(as_text=True)
    assert all(text in inbox for text in HALT)
    assert "customer@example.com" in inbox and "jane.roe" not in inbox  # redacted before anything is shown
    messages = {m.text: m for m in read_messages(rig.settings.tracker_url)}
    halt_key = f"shopper-1:{messages[HALT[0]].event_id}"

    # nearest neighbours: the page of similar messages offers the other two for the bulk verdict
    similar = client.get("/training/similar", query_string={"key": halt_key}).get_data(as_text=True)
    keys = set(re.findall(r'name="keys" value="([^"]+)"', similar))
    assert {f"shopper-1:{messages[t].event_id}" for t in HALT} <= keys
    response = client.post("/training/bulk", data={
        "csrf_token": csrf, "keys": [f"shopper-1:{messages[t].event_id}" for t in HALT], "verdict": "label",
        "intent": "cancel_order", "back": "/training/?status=all"}, follow_redirects=True)
    assert "Saved the same verdict for 3 message(s)." in response.get_data(as_text=True)

    # a clean conversation becomes a test story, which the evaluation runs with the others
    client.post("/training/conversations/shopper-2/story", data={"csrf_token": csrf})
    assert (rig.settings.from_logs_stories_dir / "test_shopper-2.yml").exists()

    response = client.post("/training/export", data={"csrf_token": csrf, "confirmed": "yes"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "rasa data validate passed" in page, page
    exported = rig.settings.export_file.read_text()
    assert all(f"- {text}" in exported for text in HALT)

    # retrain in the background, with progress visible to any console process
    models_page = client.post("/training/retrain", data={"csrf_token": csrf, "confirmed": "yes"},
                              follow_redirects=True)
    assert "Training job 1 started." in models_page.get_data(as_text=True)
    job = wait_for_job(client, 1)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    candidate_id = job["model_version_id"]
    report_page = client.get(f"/training/models/{candidate_id}").get_data(as_text=True)
    assert "Nothing regresses beyond the tolerance" in report_page
    svg = client.get(f"/training/models/{candidate_id}/f1.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"cancel_order" in svg.data

    # promote: the running server now understands the message, in the same conversation
    response = client.post(f"/training/models/{candidate_id}/promote", data={"csrf_token": csrf},
                           follow_redirects=True)
    assert "is now served by the assistant" in response.get_data(as_text=True)
    assert rig.parse(HALT[0])["name"] == "cancel_order"
    assert rig.say("shopper-1", HALT[0]) == ["I'll cancel that order."]
    assert len([m for m in read_messages(rig.settings.tracker_url) if m.conversation_id == "shopper-1"]) == 5

    # a deliberately worse model (exact keyword matching) on the same held-out split: blocked
    sessions = session_factory(make_engine(rig.store_url))
    board = JobBoard(sessions)
    worse = board.create(rig.settings.with_(config=rig.settings.config.parent / "worse_config.yml"))
    model = run_job(worse.id, sessions)
    assert model.gate_passed is False and model.report["regressions"]
    response = client.post(f"/training/models/{model.id}/promote", data={"csrf_token": csrf}, follow_redirects=True)
    assert "regresses beyond the tolerance" in response.get_data(as_text=True)
    assert client.get(f"/training/models/{model.id}").status_code == 200
    models_page = client.get("/training/models").get_data(as_text=True)
    assert "blocked" in models_page
    assert rig.parse(HALT[0])["name"] == "cancel_order"  # still the promoted candidate

    # back to the previous model, once confirmed
    asked = client.post("/training/rollback", data={"csrf_token": csrf_from(models_page)}).get_data(as_text=True)
    assert "Roll back to the previous model?" in asked and "baseline.tar.gz" in asked
    response = client.post("/training/rollback", data={"csrf_token": csrf_from(models_page), "confirmed": "yes"},
                           follow_redirects=True)
    assert "Rolled back: baseline.tar.gz is served again." in response.get_data(as_text=True)
    assert rig.parse(HALT[0])["name"] != "cancel_order"
    statuses = {m.id: m.status for m in ModelRegistry(sessions, rig.settings.models_dir).all()}
    assert statuses[candidate_id] == ModelStatus.ROLLED_BACK and statuses[model.id] == ModelStatus.CANDIDATE
